import Testing

@Suite struct SystemdPlaceholder {}
