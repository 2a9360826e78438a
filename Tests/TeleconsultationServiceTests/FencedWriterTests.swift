import Testing
import TeleconsultationDomain
import TeleconsultationPorts
@testable import TeleconsultationService

/// Each outcome of a conditional write that may time out and land later.
@Suite struct FencedWriterTests {
    let store = InMemoryStore()
    var writer: FencedWriter { FencedWriter(store: store) }
    let current = Teleconsultation(id: String(repeating: "a", count: 24), startDate: Timestamp(milliseconds: 0), endDate: Timestamp(milliseconds: 60_000),
                                   participantsNumber: 2, participants: [Participant(userExternalId: "x")], version: 3)

    var next: Teleconsultation {
        var n = current.nextVersion
        n.participants.append(Participant(userExternalId: "y"))
        return n
    }

    init() { store.seed(current) }

    @Test func appliedWhenNobodyChangedIt() async {
        guard case .applied = await writer.replace(current, with: next, context: context()) else { Issue.record("not applied"); return }
        #expect(store.document(current.id) == next)
    }

    @Test func conflictWhenTheVersionMoved() async {
        var other = current.nextVersion
        other.participantsNumber = 5
        _ = store.apply(other, ifVersion: 3)
        guard case .conflict = await writer.replace(current, with: next, context: context()) else { Issue.record("not a conflict"); return }
        #expect(store.document(current.id) == other)
    }

    @Test func failedAndFencedWhenTheWriteTimedOutWithoutLanding() async {
        store.replaceScript = [.timeout(landed: false)]
        guard case .failed(let error) = await writer.replace(current, with: next, context: context()) else { Issue.record("not failed"); return }
        #expect((error as? UpstreamError)?.isTimeout == true)
        // The fence took the version the late write is conditioned on: it can never land now.
        #expect(store.document(current.id)?.version == 4 && store.document(current.id)?.participants.count == 1)
        #expect(!store.apply(next, ifVersion: 3))
    }

    @Test func appliedWhenTheFenceMissedBecauseTheWriteLanded() async {
        store.replaceScript = [.timeout(landed: true)]
        guard case .applied = await writer.replace(current, with: next, context: context()) else { Issue.record("not applied"); return }
        #expect(store.document(current.id) == next && store.replaceCalls == 2)
    }

    @Test func failedWhenTheFenceMissedBecauseAnotherWriteLanded() async {
        // The write times out; meanwhile another change lands: the fence misses and the re-read shows it is not ours.
        store.replaceScript = [.timeout(landed: false)]
        var other = current.nextVersion
        other.participants = [Participant(userExternalId: "z")]
        _ = store.apply(other, ifVersion: 3)
        guard case .failed = await writer.replace(current, with: next, context: context()) else { Issue.record("not failed"); return }
        #expect(store.document(current.id) == other)
    }

    @Test func unknownWhenTheFenceItselfFailed() async {
        store.replaceScript = [.timeout(landed: false), .fail]
        guard case .unknown = await writer.replace(current, with: next, context: context()) else { Issue.record("not unknown"); return }
    }

    @Test func anInsertIsPublishedOnlyOnceStored() async {
        guard case .published(let id) = await writer.insert(next, context: context()) else { Issue.record("not published"); return }
        #expect(store.document(id)?.participants.count == 2)
    }
}
