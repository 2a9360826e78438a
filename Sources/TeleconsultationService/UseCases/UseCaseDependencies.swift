import TeleconsultationDomain
import TeleconsultationPorts

/// What the use cases share: the ports, the rules and time.
public struct UseCaseDependencies: Sendable {
    public let store: any TeleconsultationStore
    public let video: any VideoProvider
    public let directory: any ParticipantDirectory
    public let planner: RoomPlanner
    public let schedule: Schedule
    public let retry: ConflictRetry
    /// Who may open the call over the company's background.
    public let backgrounds: BackgroundPolicy
    public let now: @Sendable () -> Timestamp
    let users: BandyerUserResolver
    let rooms: RoomKeeper
    let writer: FencedWriter

    public init(store: any TeleconsultationStore, video: any VideoProvider, directory: any ParticipantDirectory,
                planner: RoomPlanner, schedule: Schedule, retry: ConflictRetry, backgrounds: BackgroundPolicy = BackgroundPolicy(groups: nil),
                now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.video = video
        self.directory = directory
        self.planner = planner
        self.schedule = schedule
        self.retry = retry
        self.backgrounds = backgrounds
        self.now = now
        self.users = BandyerUserResolver(store: store, video: video)
        self.rooms = RoomKeeper(video: video, store: store)
        self.writer = FencedWriter(store: store)
    }

    /// The visible teleconsultation, else the not-found error.
    func read(_ id: String, context: UpstreamContext) async throws -> Teleconsultation {
        guard let t = try await store.read(id: id, context: context) else { throw TeleconsultationError.notFound(roomId: id) }
        return t
    }

    /// A complete room needs a plus user: checked before any Bandyer user is created, so a
    /// refused request leaves as little behind as possible.
    func requirePlusUser(among participants: [ParticipantInput], _ identities: [String: Identity],
                         route: TeleconsultationError.NoPlusRoute) throws {
        if !participants.contains(where: { identities[$0.userExternalId]?.role == .plus }) { throw TeleconsultationError.noPlusUser(route) }
    }

    /// The room `participants` need now (nil while one is missing).
    func plan(_ t: Teleconsultation, resolved: [ResolvedParticipant], duration: Int?, route: TeleconsultationError.NoPlusRoute) throws -> RoomPlan? {
        do {
            return try planner.plan(participantsNumber: t.participantsNumber, participants: resolved, durationSeconds: duration)
        } catch {
            throw TeleconsultationError.noPlusUser(route)
        }
    }

    /// The plan the stored room was made from, with today's roles; nil when it cannot be known.
    func storedPlan(of t: Teleconsultation, identities: [String: Identity]) -> RoomPlan? {
        guard t.bandyerRoomId != nil else { return nil }
        var resolved: [ResolvedParticipant] = []
        for p in t.participants {
            guard let b = p.userBandyerId, let identity = identities[p.userExternalId] else { return nil }
            resolved.append(ResolvedParticipant(externalId: p.userExternalId, bandyerUserId: b, role: identity.role))
        }
        let duration: Int?
        do { duration = try schedule.roomDuration(start: t.startDate, end: t.endDate) } catch { return nil }
        return try? planner.plan(participantsNumber: t.participantsNumber, participants: resolved, durationSeconds: duration)
    }

    /// Carries out a decided change: makes the new room if any, writes the teleconsultation
    /// conditionally (fenced), and deletes the room it replaced or dropped once the write is
    /// stored. False when another change came first (the new room is deleted again).
    func commit(_ transition: RoomTransition, _ updated: Teleconsultation, over current: Teleconsultation,
                context: UpstreamContext) async throws -> Bool {
        var next = updated
        var newRoom: CreatedRoom?
        switch transition {
        case .none, .drop:
            next.setRoom(nil, links: [:])
        case .keep(let roomId):
            next.setRoom(roomId, links: current.links)
        case .create(let plan), .replace(_, let plan):
            let room = try await rooms.create(plan, teleconsultationId: current.id, context: context)
            next.setRoom(room.roomId, links: room.links)
            newRoom = room
        }
        switch await writer.replace(current, with: next, context: context) {
        case .applied:
            if let old = transition.roomToDeleteAfterwards {
                await rooms.delete(old, reason: newRoom == nil ? "participant list incomplete" : "replaced", context: context)
            }
            return true
        case .conflict:
            if let newRoom { await rooms.delete(newRoom.roomId, reason: "compensation", context: context) }
            return false
        case .failed(let error):
            if let newRoom { await rooms.delete(newRoom.roomId, reason: "compensation", context: context) }
            throw error
        case .unknown(let error):
            if let newRoom {
                context.logger.error("update outcome unknown: the new room is kept",
                                     metadata: ["teleconsultationId": .string(current.id), "bandyerRoomId": .string(newRoom.roomId)])
            }
            throw error
        }
    }
}
