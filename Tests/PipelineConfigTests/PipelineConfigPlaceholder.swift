import Testing

@Suite struct PipelineConfigPlaceholder {}
