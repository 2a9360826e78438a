import Logging
import StrictJSON
import TeleconsultationDomain

/// Create, change, join and delete teleconsultations over the three ports.
public struct TeleconsultationUseCases: Sendable {
    let store: any TeleconsultationStore
    let video: any VideoProvider
    /// nil in standalone mode.
    let directory: (any UserDirectory)?
    let privileges: Privileges
    let schedule: Schedule
    let live: Bool
    let users: BandyerUserResolver
    let now: @Sendable () -> Timestamp
    /// How long conflicting concurrent changes are retried (at least 2 s).
    let conflictRetryBudget: Duration

    public init(store: any TeleconsultationStore, video: any VideoProvider, directory: (any UserDirectory)?,
                privileges: Privileges, schedule: Schedule, live: Bool, conflictRetryBudget: Duration = .seconds(5),
                now: @escaping @Sendable () -> Timestamp) {
        self.store = store
        self.video = video
        self.directory = directory
        self.privileges = privileges
        self.schedule = schedule
        self.live = live
        self.users = BandyerUserResolver(store: store, video: video)
        self.now = now
        self.conflictRetryBudget = max(conflictRetryBudget, .seconds(2))
    }

    public var mode: OperatingMode { directory == nil ? .standalone : .auth0 }

    // MARK: errors with fixed texts

    static func notFound(_ id: String) -> APIError { .fixed(.notFound, "Room with id \(id) not found on CRUD") }
    static func immutable(_ id: String) -> APIError { .fixed(.conflict, "Teleconsultation \(id) can no longer be changed") }
    static func complete(_ id: String) -> APIError { .fixed(.conflict, "Teleconsultation \(id) already has all its participants") }
    static func alreadyIn(_ p: String, _ id: String) -> APIError { .fixed(.conflict, "Participant \(p) is already in teleconsultation \(id)") }
    static func concurrent(_ id: String) -> APIError { .fixed(.conflict, "Teleconsultation \(id) was changed concurrently, retry") }
    static let unauthorized = APIError.fixed(.unauthorized, "Unauthorized user")
    static func noGroup(_ id: String) -> ValidationError { ValidationError("user \(id) has no group allowed in the teleconsultation") }

    // MARK: POST /teleconsultation

    public func create(_ input: TeleconsultationInput, context: UpstreamContext, logger: Logger) async throws -> String {
        guard let participants = input.participants, let start = input.startDate, let end = input.endDate else {
            throw ValidationError("body must have required properties 'participants', 'start_date', 'end_date'")
        }
        let people = try await identities(of: participants.data, context: context)
        let duration = try schedule.roomDuration(start: start, end: end)
        let complete = participants.data.count >= participants.number
        if complete { try requirePlusUser(among: participants.data.map(\.userExternalId), people, "Failed POST /teleconsultation: no plus user in room") }
        let resolved = try await resolveAll(participants.data.map(\.userExternalId), identities: people, context: context)
        var document = Teleconsultation(
            id: "", startDate: start, endDate: end, participantsNumber: participants.number,
            participants: zip(participants.data, resolved).map { input, r in stored(input, bandyerId: r.bandyerUserId) },
            version: 1)
        var room: CreatedRoom?
        if let plan = try roomPlan(for: document, resolved: resolved, duration: duration, noPlusText: "Failed POST /teleconsultation: no plus user in room") {
            room = try await createRoom(plan, context: context, logger: logger)
            apply(room!, to: &document)
        }
        return try await insertAndPublish(document, room: room, context: context, logger: logger)
    }

    /// Inserts as DRAFT (invisible to by-id reads), then publishes. An insert that fails
    /// but lands later stays an invisible draft; a publish that fails is fenced by moving
    /// the draft to TRASH (TRASH → PUBLIC is refused, so a late publish cannot land).
    func insertAndPublish(_ document: Teleconsultation, room: CreatedRoom?, context: UpstreamContext, logger: Logger) async throws -> String {
        let id: String
        do {
            id = try await store.create(document.fields, state: .draft, context: context)
        } catch {
            if let room { await deleteRoom(room.roomId, reason: "compensation", context: context, logger: logger) }
            throw error
        }
        do {
            guard try await store.changeState(id: id, to: .public, context: context) else {
                throw UpstreamError(upstream: "crud", operation: "publish", kind: .invalidResponse("the new draft is gone"))
            }
            return id
        } catch {
            if (try? await store.changeState(id: id, to: .trash, context: compensationContext(context))) != nil {
                if let room { await deleteRoom(room.roomId, reason: "compensation", context: context, logger: logger) }
            } else if let room {
                logger.error("teleconsultation may have been published though the request failed; its room is kept",
                             metadata: ["teleconsultationId": .string(id), "bandyerRoomId": .string(room.roomId)])
            }
            throw error
        }
    }

    // MARK: POST /teleconsultation/:roomId/participants/data

    public func addParticipant(roomId: String, _ input: ParticipantInput, context: UpstreamContext, logger: Logger) async throws {
        let route = "Failed POST /teleconsultation/\(roomId)/participants/data: no plus user in room"
        var newBandyerId: String?
        try await retryingConflicts(roomId: roomId, context: context) { () async throws -> Bool in
            let document = try await read(roomId, context: context)
            if schedule.isImmutable(document, now: now()) { throw Self.immutable(roomId) }
            if document.isComplete { throw Self.complete(roomId) }
            if document.participant(externalId: input.userExternalId) != nil { throw Self.alreadyIn(input.userExternalId, roomId) }
            let completes = document.participants.count + 1 >= document.participantsNumber
            var updated = document
            updated.participants.append(stored(input, bandyerId: nil))
            // Completing: every participant's identity again (one auth0 call); else only the newcomer's.
            let inputs = completes ? updated.participants.map(Self.input(from:)) : [input]
            let people = try await identities(of: inputs, context: context)
            var duration: Int?
            if completes {
                try requirePlusUser(among: inputs.map(\.userExternalId), people, route)
                duration = try schedule.roomDuration(start: document.startDate, end: document.endDate)
            }
            if newBandyerId == nil {
                newBandyerId = try await users.resolve(externalId: input.userExternalId, role: people[input.userExternalId]!.role, context: context)
            }
            updated.participants[updated.participants.count - 1].userBandyerId = newBandyerId
            var room: CreatedRoom?
            if completes {
                let resolved = try await resolveAll(updated.participants.map(\.userExternalId), identities: people,
                                                    known: updated.participants, context: context)
                for i in updated.participants.indices { updated.participants[i].userBandyerId = resolved[i].bandyerUserId }
                if let plan = try roomPlan(for: updated, resolved: resolved, duration: duration, noPlusText: route) {
                    room = try await createRoom(plan, context: context, logger: logger)
                    apply(room!, to: &updated)
                }
            }
            return try await write(updated, over: document, newRoom: room, context: context, logger: logger)
        }
    }

    // MARK: PATCH /teleconsultation/:roomId

    public func update(roomId: String, _ input: TeleconsultationInput, context: UpstreamContext, logger: Logger) async throws {
        let noPlus = "Failed PATCH /teleconsultation: no plus user in room"
        var oldRoomToDelete: String?
        try await retryingConflicts(roomId: roomId, context: context) { () async throws -> Bool in
            oldRoomToDelete = nil
            let document = try await read(roomId, context: context)
            if schedule.isImmutable(document, now: now()) { throw Self.immutable(roomId) }
            var updated = document
            if let s = input.startDate { updated.startDate = s }
            if let e = input.endDate { updated.endDate = e }
            if let p = input.participants {
                updated.participantsNumber = p.number
                updated.participants = p.data.map { stored($0, bandyerId: nil) }
            }
            var duration: Int?
            if input.startDate != nil || input.endDate != nil || updated.isComplete {
                duration = try schedule.roomDuration(start: updated.startDate, end: updated.endDate)
            }
            let newInputs = input.participants?.data ?? updated.participants.map(Self.input(from:))
            // One directory call covers the old participants too (to compare the rooms).
            let oldInputs = document.bandyerRoomId == nil ? [] : document.participants.map(Self.input(from:))
            let people = try await identities(of: newInputs, extra: oldInputs, context: context)
            if updated.isComplete { try requirePlusUser(among: newInputs.map(\.userExternalId), people, noPlus) }
            let resolved = try await resolveAll(updated.participants.map(\.userExternalId), identities: people, context: context)
            for i in updated.participants.indices { updated.participants[i].userBandyerId = resolved[i].bandyerUserId }

            var newRoom: CreatedRoom?
            switch (try roomPlan(for: updated, resolved: resolved, duration: duration, noPlusText: noPlus), document.bandyerRoomId) {
            case (nil, nil):
                break
            case (nil, let old?):
                updated.bandyerRoomId = nil
                for i in updated.participants.indices { updated.participants[i].accessLinkURL = nil }
                oldRoomToDelete = old
            case (let plan?, nil):
                newRoom = try await createRoom(plan, context: context, logger: logger)
                apply(newRoom!, to: &updated)
            case (let plan?, let old?):
                if let oldPlan = oldPlan(of: document, identities: people), oldPlan.makesSameRoom(as: plan) {
                    // Same room: keep it and each person's link.
                    let links = Dictionary(document.participants.compactMap { p in p.userBandyerId.flatMap { id in p.accessLinkURL.map { (id, $0) } } },
                                           uniquingKeysWith: { a, _ in a })
                    for i in updated.participants.indices {
                        updated.participants[i].accessLinkURL = updated.participants[i].userBandyerId.flatMap { links[$0] }
                    }
                } else {
                    newRoom = try await createRoom(plan, context: context, logger: logger)
                    apply(newRoom!, to: &updated)
                    oldRoomToDelete = old
                }
            }
            return try await write(updated, over: document, newRoom: newRoom, context: context, logger: logger)
        }
        if let old = oldRoomToDelete {
            await deleteRoom(old, reason: "replaced", context: context, logger: logger)
        }
    }

    // MARK: GET /teleconsultation/:roomId

    public struct JoinInfo: Sendable {
        public var bandyerUserId: String?
        public var accessLinkURL: String?
        public var participants: [(bandyerUserId: String?, fullName: String?)]

        public var json: JSONValue {
            [
                "bandyerUserId": .string(orNull: bandyerUserId),
                "accessLinkURL": .string(orNull: accessLinkURL),
                "participantsBandyerCall": .array(participants.map {
                    ["bandyerUserId": .string(orNull: $0.bandyerUserId), "fullName": .string(orNull: $0.fullName)]
                }),
            ]
        }
    }

    public func joinInfo(roomId: String, callerId: String?, context: UpstreamContext) async throws -> JoinInfo {
        let document = try await read(roomId, context: context)
        guard let callerId, let caller = document.participant(externalId: callerId) else { throw Self.unauthorized }
        var names: [String: String] = [:]
        if let directory {
            let found = try await directory.users(ids: document.participants.map(\.userExternalId), context: context)
            for u in found { if let n = u.name { names[u.userId] = n } }
        } else {
            for p in document.participants { if let n = p.fullName { names[p.userExternalId] = n } }
        }
        let link = schedule.isLinkVisible(document, now: now()) ? caller.accessLinkURL : nil
        return JoinInfo(bandyerUserId: caller.userBandyerId, accessLinkURL: link,
                        participants: document.participants.map { ($0.userBandyerId, names[$0.userExternalId]) })
    }

    // MARK: DELETE /teleconsultation/:roomId

    public func delete(roomId: String, context: UpstreamContext, logger: Logger) async throws {
        let document = try await read(roomId, context: context)
        guard try await store.changeState(id: roomId, to: .trash, context: context) else { throw Self.notFound(roomId) }
        if let room = document.bandyerRoomId {
            // The teleconsultation is gone for its users; the trashed document keeps the room id for a sweep.
            await deleteRoom(room, reason: "teleconsultation deleted", context: context, logger: logger)
        }
    }

    // MARK: steps

    func read(_ id: String, context: UpstreamContext) async throws -> Teleconsultation {
        guard let value = try await store.read(id: id, context: context) else { throw Self.notFound(id) }
        guard let document = Teleconsultation(document: value) else {
            throw UpstreamError(upstream: "crud", operation: "read", kind: .invalidResponse("teleconsultation \(id) is malformed"))
        }
        return document
    }

    struct Identity: Sendable { var role: Role; var name: String? }

    /// Roles (and names) of participants: from auth0-client in one call, or from the request.
    func identities(of inputs: [ParticipantInput], extra: [ParticipantInput] = [], context: UpstreamContext) async throws -> [String: Identity] {
        var result: [String: Identity] = [:]
        if let directory {
            var ids: [String] = []
            for p in inputs + extra where !ids.contains(p.userExternalId) { ids.append(p.userExternalId) }
            let found = try await directory.users(ids: ids, context: context)
            let byId = Dictionary(found.map { ($0.userId, $0) }, uniquingKeysWith: { a, _ in a })
            for p in inputs {
                guard let u = byId[p.userExternalId] else { throw ValidationError("user \(p.userExternalId) not found on auth0-client") }
                guard let role = privileges.role(forGroups: u.groups) else { throw Self.noGroup(p.userExternalId) }
                result[p.userExternalId] = Identity(role: role, name: u.name)
            }
            for p in extra where result[p.userExternalId] == nil {
                if let u = byId[p.userExternalId], let role = privileges.role(forGroups: u.groups) {
                    result[p.userExternalId] = Identity(role: role, name: u.name)
                }
            }
        } else {
            for p in inputs {
                guard let role = privileges.role(forGroups: p.groups ?? []) else { throw Self.noGroup(p.userExternalId) }
                result[p.userExternalId] = Identity(role: role, name: p.fullName)
            }
            for p in extra where result[p.userExternalId] == nil {
                if let role = privileges.role(forGroups: p.groups ?? []) { result[p.userExternalId] = Identity(role: role, name: p.fullName) }
            }
        }
        return result
    }

    /// A complete room needs a plus user: checked before any Bandyer user is created, so a
    /// refused request leaves as little behind as possible (RoomPlanner checks it again).
    func requirePlusUser(among ids: [String], _ people: [String: Identity], _ text: String) throws {
        if !ids.contains(where: { people[$0]?.role == .plus }) { throw APIError.fixed(.badRequest, text) }
    }

    /// Bandyer ids for every participant, in order, concurrently. `known` ids are trusted
    /// only for basic participants; plus ones go through the map (it may upgrade them).
    func resolveAll(_ ids: [String], identities: [String: Identity], known: [Participant] = [],
                    context: UpstreamContext) async throws -> [ResolvedParticipant] {
        try await withThrowingTaskGroup(of: (Int, ResolvedParticipant).self) { group in
            for (i, id) in ids.enumerated() {
                let role = identities[id]!.role
                if role == .basic, let b = known.first(where: { $0.userExternalId == id })?.userBandyerId {
                    group.addTask { (i, ResolvedParticipant(externalId: id, bandyerUserId: b, role: role)) }
                    continue
                }
                group.addTask {
                    let b = try await users.resolve(externalId: id, role: role, context: context)
                    return (i, ResolvedParticipant(externalId: id, bandyerUserId: b, role: role))
                }
            }
            var out = [ResolvedParticipant?](repeating: nil, count: ids.count)
            for try await (i, r) in group { out[i] = r }
            return out.map { $0! }
        }
    }

    /// The room the teleconsultation needs now: nil while a participant is missing; a
    /// complete list without a plus user is refused with `noPlusText`.
    func roomPlan(for document: Teleconsultation, resolved: [ResolvedParticipant], duration: Int?, noPlusText: String) throws -> RoomPlan? {
        do {
            guard case .room(let plan) = try RoomPlanner.decide(participantsNumber: document.participantsNumber, participants: resolved,
                                                                 privileges: privileges, durationSeconds: duration, live: live)
            else { return nil }
            return plan
        } catch {
            throw APIError.fixed(.badRequest, noPlusText)
        }
    }

    /// Creates a room. One that times out may still be made by Bandyer, where nothing can
    /// find it again (no listing, no idempotency key): say so at error level.
    func createRoom(_ plan: RoomPlan, context: UpstreamContext, logger: Logger) async throws -> CreatedRoom {
        do {
            return try await video.createRoom(plan, context: context)
        } catch let error as UpstreamError where error.isTimeout {
            logger.error("Bandyer room creation timed out: a room may exist that no teleconsultation points to",
                         metadata: ["bandyerUserIds": .array(plan.members.map { .string($0.bandyerUserId) })])
            throw error
        }
    }

    /// The plan the stored room was made from, with today's roles; nil when unknown.
    func oldPlan(of document: Teleconsultation, identities: [String: Identity]) -> RoomPlan? {
        var resolved: [ResolvedParticipant] = []
        for p in document.participants {
            guard let b = p.userBandyerId, let identity = identities[p.userExternalId] else { return nil }
            resolved.append(ResolvedParticipant(externalId: p.userExternalId, bandyerUserId: b, role: identity.role))
        }
        let duration = try? schedule.roomDuration(start: document.startDate, end: document.endDate)
        guard case .room(let plan)? = try? RoomPlanner.decide(participantsNumber: document.participantsNumber, participants: resolved,
                                                               privileges: privileges, durationSeconds: duration ?? nil, live: live)
        else { return nil }
        return plan
    }

    func apply(_ room: CreatedRoom, to document: inout Teleconsultation) {
        document.bandyerRoomId = room.roomId
        for i in document.participants.indices {
            document.participants[i].accessLinkURL = document.participants[i].userBandyerId.flatMap { room.links[$0] }
        }
    }

    func stored(_ input: ParticipantInput, bandyerId: String?) -> Participant {
        // Groups and names are stored in standalone mode only.
        Participant(userExternalId: input.userExternalId, userBandyerId: bandyerId,
                    groups: mode == .standalone ? input.groups : nil, fullName: mode == .standalone ? input.fullName : nil,
                    language: input.language)
    }

    static func input(from p: Participant) -> ParticipantInput {
        ParticipantInput(userExternalId: p.userExternalId, groups: p.groups, fullName: p.fullName, language: p.language)
    }

    /// The conditional write; false on a conflict (the new room, if any, is deleted first).
    func write(_ updated: Teleconsultation, over document: Teleconsultation, newRoom: CreatedRoom?,
               context: UpstreamContext, logger: Logger) async throws -> Bool {
        var next = updated
        next.version = (document.version ?? 0) + 1
        let unset = next.bandyerRoomId == nil && document.bandyerRoomId != nil ? ["bandyerRoomId"] : []
        do {
            let applied = try await store.update(id: document.id, expectedVersion: document.version, set: next.fields, unset: unset, context: context)
            if !applied, let newRoom { await deleteRoom(newRoom.roomId, reason: "compensation", context: context, logger: logger) }
            return applied
        } catch let error as UpstreamError where error.isTimeout {
            // The write may still land. Fence it: bump the version it is conditioned on.
            let undo = compensationContext(context)
            switch await fence(document, context: undo) {
            case .fenced:
                break
            case .missed:
                if let value = try? await store.read(id: document.id, context: undo), let now = Teleconsultation(document: value),
                   now.version == next.version, now.bandyerRoomId == next.bandyerRoomId,
                   now.participants.map(\.userExternalId) == next.participants.map(\.userExternalId) {
                    return true  // it was applied
                }
            case .unknown:
                if let newRoom {
                    logger.error("update outcome unknown: the new room is kept",
                                 metadata: ["teleconsultationId": .string(document.id), "bandyerRoomId": .string(newRoom.roomId)])
                }
                throw error
            }
            if let newRoom { await deleteRoom(newRoom.roomId, reason: "compensation", context: context, logger: logger) }
            throw error
        } catch {
            if let newRoom { await deleteRoom(newRoom.roomId, reason: "compensation", context: context, logger: logger) }
            throw error
        }
    }

    enum FenceOutcome { case fenced, missed, unknown }

    /// Moves `version` past the one a timed-out write was conditioned on, so that write can
    /// no longer apply. `missed`: the version had already moved (that write, or another, landed).
    func fence(_ document: Teleconsultation, context: UpstreamContext) async -> FenceOutcome {
        let bumped = JSONObject([("version", .number(Double((document.version ?? 0) + 1)))])
        do {
            return try await store.update(id: document.id, expectedVersion: document.version, set: bumped, unset: [], context: context) ? .fenced : .missed
        } catch {
            return .unknown
        }
    }

    /// Retries `attempt` while it reports a conflict, with jitter, bounded in time.
    func retryingConflicts(roomId: String, context: UpstreamContext, _ attempt: () async throws -> Bool) async throws {
        let giveUp = min(ContinuousClock.now + conflictRetryBudget, context.deadline)
        var round = 0
        while true {
            if try await attempt() { return }
            round += 1
            let now = ContinuousClock.now
            if now >= giveUp { throw Self.concurrent(roomId) }
            // Jitter, growing with the rounds; the last pause ends exactly at the budget.
            let pause = min(Duration.milliseconds(Int.random(in: 5...(20 + 20 * min(round, 10)))), giveUp - now)
            try await Task.sleep(for: pause)
        }
    }

    /// Room deletion that must not fail the request: a failure is logged with the room id.
    func deleteRoom(_ roomId: String, reason: String, context: UpstreamContext, logger: Logger) async {
        do {
            try await video.deleteRoom(id: roomId, context: compensationContext(context))
        } catch {
            logger.error("Bandyer room deletion failed", metadata: ["bandyerRoomId": .string(roomId), "reason": .string(reason),
                                                                     "error": .string(String(describing: error))])
        }
    }

    /// Undoing gets its own short deadline, even when the request's has passed.
    func compensationContext(_ context: UpstreamContext) -> UpstreamContext {
        var c = context
        c.deadline = max(context.deadline, ContinuousClock.now + .seconds(5))
        return c
    }
}
