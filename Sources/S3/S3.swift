// Module S3.
