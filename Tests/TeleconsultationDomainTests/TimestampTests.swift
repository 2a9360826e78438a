import Testing
@testable import TeleconsultationDomain

@Suite struct TimestampTests {
    @Test func parsesWithAndWithoutMilliseconds() {
        #expect(Timestamp(iso: "1970-01-01T00:00:01.500Z")?.milliseconds == 1500)
        #expect(Timestamp(iso: "2022-02-22T15:30:00Z")?.milliseconds == 1_645_543_800_000)
        #expect(Timestamp(iso: "2024-02-29T00:00:00.000Z") != nil)
    }

    @Test(arguments: ["2026-02-30T10:00:00.000Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z",
                      "2026-01-01T24:00:00Z", "2026-01-01T10:60:00Z", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00+01:00",
                      "2026-01-01T10:00:00.00Z", "2026-01-01", "", "1969-12-31T23:59:59Z"])
    func rejectsImpossibleOrOtherFormats(_ text: String) {
        #expect(Timestamp(iso: text) == nil)
    }

    @Test func printsWithMilliseconds() {
        #expect(Timestamp(milliseconds: 1_645_543_800_123).iso == "2022-02-22T15:30:00.123Z")
        #expect(Timestamp(iso: "2099-12-31T23:59:59.999Z")?.iso == "2099-12-31T23:59:59.999Z")
    }
}
