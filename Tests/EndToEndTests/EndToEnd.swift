import Testing

/// Every end-to-end suite, one after the other: they start real processes and measure
/// time, so they must not compete for the machine's two cores with each other.
@Suite(.serialized) struct EndToEnd {}
