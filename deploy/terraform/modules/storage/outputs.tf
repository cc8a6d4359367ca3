output "images_bucket" {
  value = aws_s3_bucket.images.id
}

output "images_bucket_arn" {
  value = aws_s3_bucket.images.arn
}

output "models_bucket" {
  value = aws_s3_bucket.models.id
}

output "models_bucket_arn" {
  value = aws_s3_bucket.models.arn
}

output "kms_key_arn" {
  value = aws_kms_key.this.arn
}
