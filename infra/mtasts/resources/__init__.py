"""Cloud resources: the Pulumi components that publish the plan on AWS (S3, CloudFront, ACM, Route53)."""
