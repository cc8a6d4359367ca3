variable "environment" {
  description = "dev or prod: the buckets are pingvas-<env>-images-<account> and pingvas-<env>-models-<account>."
  type        = string
}

variable "cors_origins" {
  description = "The SPA's origins: the gallery fetches presigned image URLs as blobs (web/src/features/gallery/Lightbox.tsx), which needs CORS."
  type        = list(string)
}

variable "image_tiering_days" {
  description = "Days before a full-size PNG moves to S3 Intelligent-Tiering (thumbnails stay in Standard)."
  type        = number
  default     = 30
}

variable "deleted_retention_days" {
  description = "Days a deleted object (an image, or a deleted tenant's whole prefix) stays recoverable as a noncurrent version before it is gone for good."
  type        = number
  default     = 30
}

variable "model_noncurrent_days" {
  description = "Days a replaced model file is kept."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  type    = map(string)
  default = {}
}
