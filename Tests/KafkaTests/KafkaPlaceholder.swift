import Testing

@Suite struct KafkaPlaceholder {}
