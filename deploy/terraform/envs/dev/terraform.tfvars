# dev: example values (deploy/terraform/README.md); one AWS account per environment
region      = "ap-northeast-2"
account_id  = "111111111111"
vpc_cidr    = "10.20.0.0/16"
mail_domain = "dev.pingvas.example"
spa_origins = ["https://dev.pingvas.example"]

# an operator's address for the EKS API (empty: private endpoint only)
public_access_cidrs = ["203.0.113.10/32"]

# one NVIDIA A10G (24 GB) per node, 8 vCPU / 32 GiB: the worker requests 4 CPUs and 24 GiB
gpu_instance_types = ["g5.2xlarge"]

tags = {
  project = "pingvas"
}
