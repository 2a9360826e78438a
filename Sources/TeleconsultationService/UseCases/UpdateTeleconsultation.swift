import TeleconsultationDomain
import TeleconsultationPorts

/// PATCH /teleconsultation/:roomId: new dates or participants; the room follows (kept,
/// made, replaced or dropped), the id never changes.
public struct UpdateTeleconsultation: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    public func run(roomId: String, _ input: TeleconsultationInput, context: UpstreamContext) async throws {
        try await deps.retry.run(deadline: context.deadline, exhausted: TeleconsultationError.changedConcurrently(roomId: roomId)) {
            let document = try await deps.read(roomId, context: context)
            if deps.schedule.isImmutable(document, now: deps.now()) { throw TeleconsultationError.immutable(roomId: roomId) }
            var updated = document.nextVersion
            (updated.startDate, updated.endDate) = Schedule.dates(changing: document, with: input)
            if let p = input.participants {
                updated.participantsNumber = p.number
                updated.participants = p.data.map(deps.directory.stored)
            }
            let newInputs = updated.participants.map(\.input)
            // One directory call covers the stored participants too (to compare the rooms).
            let oldInputs = document.bandyerRoomId == nil ? [] : document.participants.map(\.input)
            let people = try await deps.directory.identities(of: newInputs, optional: oldInputs, context: context)
            if updated.isComplete { try deps.requirePlusUser(among: newInputs, people, route: .update) }
            var duration: Int?
            if input.movesDates || updated.isComplete {
                duration = try deps.schedule.roomDuration(start: updated.startDate, end: updated.endDate)
            }
            // Every participant through the user-id map again (an upgrade elsewhere is picked up).
            for i in updated.participants.indices { updated.participants[i].userBandyerId = nil }
            let resolved = try await deps.users.resolveAll(updated.participants, identities: people, context: context)
            for (i, r) in resolved.enumerated() { updated.participants[i].userBandyerId = r.bandyerUserId }
            let plan = try deps.plan(updated, resolved: resolved, duration: duration, route: .update)
            let transition = RoomTransition.decide(oldRoomId: document.bandyerRoomId,
                                                   oldPlan: deps.storedPlan(of: document, identities: people), newPlan: plan)
            return try await deps.commit(transition, updated, over: document, context: context)
        }
    }
}
