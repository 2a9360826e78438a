import TeleconsultationDomain
import TeleconsultationPorts

/// POST /teleconsultation/:roomId/participants/data: one more participant; the last one
/// makes the room.
public struct AddParticipant: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    public func run(roomId: String, _ input: ParticipantInput, context: UpstreamContext) async throws {
        var newcomerBandyerId: String?
        try await deps.retry.run(deadline: context.deadline, exhausted: TeleconsultationError.changedConcurrently(roomId: roomId)) {
            let document = try await deps.read(roomId, context: context)
            if deps.schedule.isImmutable(document, now: deps.now()) { throw TeleconsultationError.immutable(roomId: roomId) }
            if document.isComplete { throw TeleconsultationError.alreadyComplete(roomId: roomId) }
            if document.participant(externalId: input.userExternalId) != nil {
                throw TeleconsultationError.alreadyParticipant(userId: input.userExternalId, roomId: roomId)
            }
            var updated = document.nextVersion
            updated.participants.append(deps.directory.stored(input))
            let completes = updated.isComplete
            // Completing: every participant's identity again (one auth0 call); else only the newcomer's.
            let inputs = completes ? updated.participants.map(\.input) : [input]
            let people = try await deps.directory.identities(of: inputs, optional: [], context: context)
            var plan: RoomPlan?
            if completes {
                try deps.requirePlusUser(among: inputs, people, route: .addParticipant(roomId: roomId))
                let duration = try deps.schedule.roomDuration(start: document.startDate, end: document.endDate)
                let resolved = try await deps.users.resolveAll(updated.participants, identities: people, context: context)
                for (i, r) in resolved.enumerated() { updated.participants[i].userBandyerId = r.bandyerUserId }
                plan = try deps.plan(updated, resolved: resolved, duration: duration, route: .addParticipant(roomId: roomId))
            } else {
                if newcomerBandyerId == nil, let role = people[input.userExternalId]?.role {
                    newcomerBandyerId = try await deps.users.resolve(externalId: input.userExternalId, role: role, context: context)
                }
                updated.participants[updated.participants.count - 1].userBandyerId = newcomerBandyerId
            }
            let transition = RoomTransition.decide(oldRoomId: document.bandyerRoomId, oldPlan: nil, newPlan: plan)
            return try await deps.commit(transition, updated, over: document, context: context)
        }
    }
}
