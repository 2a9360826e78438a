import TeleconsultationDomain
import TeleconsultationPorts

/// POST /teleconsultation: stores a teleconsultation, with its room when every participant is known.
public struct CreateTeleconsultation: Sendable {
    let deps: UseCaseDependencies

    public init(_ deps: UseCaseDependencies) { self.deps = deps }

    /// Returns the new teleconsultation's id.
    public func run(_ input: TeleconsultationInput, context: UpstreamContext) async throws -> String {
        guard let participants = input.participants, let (start, end) = Schedule.dates(creating: input) else {
            throw ValidationError("body must have required properties 'participants', 'start_date' and 'end_date' or 'duration_in_seconds'")
        }
        // Roles, then the plus user, then the duration (API.md's order of checks).
        let people = try await deps.directory.identities(of: participants.data, optional: [], context: context)
        if participants.data.count >= participants.number {
            try deps.requirePlusUser(among: participants.data, people, route: .create)
        }
        let duration = try deps.schedule.roomDuration(start: start, end: end)
        var document = Teleconsultation(id: "", startDate: start, endDate: end, participantsNumber: participants.number,
                                        participants: participants.data.map(deps.directory.stored), version: 1)
        let resolved = try await deps.users.resolveAll(document.participants, identities: people, context: context)
        for (i, r) in resolved.enumerated() { document.participants[i].userBandyerId = r.bandyerUserId }
        var room: CreatedRoom?
        if let plan = try deps.plan(document, resolved: resolved, duration: duration, route: .create) {
            let made = try await deps.rooms.create(plan, teleconsultationId: nil, context: context)
            document.setRoom(made.roomId, links: made.links)
            room = made
        }
        switch await deps.writer.insert(document, context: context) {
        case .published(let id):
            return id
        case .failed(let error):
            if let room { await deps.rooms.delete(room.roomId, reason: "compensation", context: context) }
            throw error
        case .unknown(let id, let error):
            if let room {
                context.logger.error("teleconsultation may have been published though the request failed; its room is kept",
                                     metadata: ["teleconsultationId": .string(id), "bandyerRoomId": .string(room.roomId)])
            }
            throw error
        }
    }
}
