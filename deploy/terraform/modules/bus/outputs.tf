output "topic_arns" {
  description = "SNS topic ARN by context (e.g. render)."
  value       = { for context, topic in aws_sns_topic.context : context => topic.arn }
}

output "queue_arns" {
  description = "SQS queue ARN by consuming service (e.g. billing)."
  value       = { for consumer, queue in aws_sqs_queue.consumer : consumer => queue.arn }
}

output "queue_urls" {
  description = "SQS queue URL by consuming service."
  value       = { for consumer, queue in aws_sqs_queue.consumer : consumer => queue.url }
}

output "dlq_arns" {
  description = "Dead-letter queue ARN by consuming service."
  value       = { for consumer, queue in aws_sqs_queue.dlq : consumer => queue.arn }
}

output "work_queue_arns" {
  description = "Work queue ARN by name (e.g. render-work)."
  value       = { for name, queue in aws_sqs_queue.work : name => queue.arn }
}

output "work_queue_urls" {
  description = "Work queue URL by name (e.g. render-work)."
  value       = { for name, queue in aws_sqs_queue.work : name => queue.url }
}

output "ses_events_topic_arn" {
  description = "The SNS topic SES publishes bounces and complaints to (the ses module's event destination); null without SES events in the topology."
  value       = one(aws_sns_topic.ses_events[*].arn)
}

output "ses_events_queue_arn" {
  description = "The SQS queue mail reads SES notifications from; null without SES events."
  value       = one(aws_sqs_queue.ses_events[*].arn)
}
