output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr" {
  value = aws_vpc.this.cidr_block
}

output "azs" {
  value = var.azs
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "public_subnet_cidrs" {
  description = "Where the ALB connects to pods from (the chart's ingress.loadBalancerCidrs)."
  value       = aws_subnet.public[*].cidr_block
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "private_subnet_cidrs" {
  value = aws_subnet.private[*].cidr_block
}

output "s3_prefix_list_id" {
  value = data.aws_ec2_managed_prefix_list.s3.id
}

output "s3_prefix_list_cidrs" {
  description = "S3's addresses in the region (the chart's networkPolicy.s3Cidrs)."
  value       = sort([for entry in data.aws_ec2_managed_prefix_list.s3.entries : entry.cidr])
}

output "nat_gateway_count" {
  value = length(aws_nat_gateway.this)
}

output "interface_endpoint_services" {
  value = sort(values(local.interface_endpoints))
}
