import Testing

@Suite struct S3Placeholder {}
