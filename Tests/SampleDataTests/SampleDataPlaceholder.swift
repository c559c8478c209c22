import Testing

@Suite struct SampleDataPlaceholder {}
