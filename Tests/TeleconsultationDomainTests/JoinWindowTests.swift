import Testing
@testable import TeleconsultationDomain

/// The join window as a table: now × start × immutable period × participants complete × room.
@Suite struct JoinWindowTests {
    static let start = Timestamp(iso: "2026-06-01T12:00:00.000Z")!
    func at(_ seconds: Int64) -> Timestamp { Timestamp(milliseconds: Self.start.milliseconds + seconds * 1000) }

    func teleconsultation(complete: Bool, room: Bool) -> Teleconsultation {
        Teleconsultation(id: "aaaaaaaaaaaaaaaaaaaaaaaa", startDate: Self.start, endDate: at(1800), participantsNumber: 2,
                         participants: complete ? [Participant(userExternalId: "d"), Participant(userExternalId: "p")] : [Participant(userExternalId: "d")],
                         bandyerRoomId: room ? "r1" : nil, version: 1)
    }

    struct Row: Sendable, CustomStringConvertible {
        var now: Int64, immutableSeconds: Int64, complete: Bool, room: Bool
        var reason: JoinWindow.Reason?, retryAfter: Int?
        var description: String { "now \(now)s, period \(immutableSeconds)s, complete \(complete), room \(room)" }
    }

    static let rows: [Row] = [
        // Before the window: too early, however complete, and how long to wait (1..60, rounded up).
        Row(now: -3600, immutableSeconds: 0, complete: true, room: true, reason: .tooEarly, retryAfter: 60),
        Row(now: -61, immutableSeconds: 0, complete: true, room: true, reason: .tooEarly, retryAfter: 60),
        Row(now: -30, immutableSeconds: 0, complete: false, room: false, reason: .tooEarly, retryAfter: 30),
        Row(now: -1, immutableSeconds: 0, complete: true, room: true, reason: .tooEarly, retryAfter: 1),
        Row(now: -700, immutableSeconds: 600, complete: true, room: true, reason: .tooEarly, retryAfter: 60),
        Row(now: -610, immutableSeconds: 600, complete: true, room: true, reason: .tooEarly, retryAfter: 10),
        // In the window.
        Row(now: -600, immutableSeconds: 600, complete: true, room: true, reason: nil, retryAfter: nil),
        Row(now: 0, immutableSeconds: 0, complete: true, room: true, reason: nil, retryAfter: nil),
        Row(now: 7200, immutableSeconds: 0, complete: true, room: true, reason: nil, retryAfter: nil),
        Row(now: 10, immutableSeconds: 0, complete: false, room: false, reason: .participantsMissing, retryAfter: 5),
        Row(now: -300, immutableSeconds: 600, complete: false, room: false, reason: .participantsMissing, retryAfter: 5),
        Row(now: 10, immutableSeconds: 0, complete: true, room: false, reason: .roomUnavailable, retryAfter: 5),
    ]

    @Test(arguments: rows)
    func theWindowSaysWhenAndWhy(_ row: Row) {
        let window = JoinWindow(teleconsultation(complete: row.complete, room: row.room),
                                schedule: Schedule(immutablePeriodMilliseconds: row.immutableSeconds * 1000, unlimited: true), now: at(row.now))
        #expect(window.reason == row.reason && window.retryAfterSeconds == row.retryAfter && window.isOpen == (row.reason == nil))
        #expect(window.opensAt == at(-row.immutableSeconds) && window.scheduledEndAt == at(1800))
    }

    @Test func aPartSecondIsRoundedUp() {
        let window = JoinWindow(teleconsultation(complete: true, room: true), schedule: Schedule(immutablePeriodMilliseconds: 0, unlimited: true),
                                now: Timestamp(milliseconds: Self.start.milliseconds - 1_001))
        #expect(window.retryAfterSeconds == 2)
    }
}
