# prod: example values (deploy/terraform/README.md); one AWS account per environment
region      = "ap-northeast-2"
account_id  = "222222222222"
vpc_cidr    = "10.30.0.0/16"
mail_domain = "pingvas.example"
spa_origins = ["https://app.pingvas.example"]

# private endpoint only: terraform and the deploys run from inside the VPC
public_access_cidrs = []

# one NVIDIA L40S (48 GB) per node, 8 vCPU / 64 GiB; g6e may not be offered in every Seoul
# zone yet (aws ec2 describe-instance-type-offerings): g6.2xlarge (L4) or g5.2xlarge otherwise
gpu_instance_types = ["g6e.2xlarge"]

tags = {
  project = "pingvas"
}
