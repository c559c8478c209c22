import Testing

@Suite struct PipelinePlaceholder {}
