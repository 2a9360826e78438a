import Foundation
import Logging
import StrictJSON
import Synchronization
import TeleconsultationDomain
import TeleconsultationPorts
@testable import TeleconsultationService

/// In-memory ports for unit tests: they keep domain values, as the store port speaks them.
final class InMemoryStore: TeleconsultationStore, @unchecked Sendable {
    enum State { case draft, published, trashed }
    let lock = NSLock()
    var teleconsultations: [String: Teleconsultation] = [:]
    var states: [String: State] = [:]
    var trashed: Set<String> { lock.withLock { Set(states.filter { $0.value == .trashed }.keys) } }
    var mappingsById: [UserMapping] = []
    var counter = 0
    var failUpdates = false
    var alwaysConflict = false
    /// Scripted outcomes of the next `replace` calls: nil applies normally.
    var replaceScript: [ReplaceStep] = []
    var replaceCalls = 0

    enum ReplaceStep {
        /// Times out; `landed`: the write is applied anyway.
        case timeout(landed: Bool)
        case fail
    }

    func next() -> String { counter += 1; return String(format: "%024x", counter) }

    func insertDraft(_ t: Teleconsultation, context: UpstreamContext) async throws -> String {
        lock.withLock {
            let id = next()
            var stored = t
            stored.id = id
            teleconsultations[id] = stored
            states[id] = .draft
            return id
        }
    }

    func publish(id: String, context: UpstreamContext) async throws -> Bool { move(id, to: .published) }
    func trash(id: String, context: UpstreamContext) async throws -> Bool { move(id, to: .trashed) }

    func move(_ id: String, to state: State) -> Bool {
        lock.withLock {
            guard let from = states[id] else { return false }
            if from == .trashed && state == .published { return false }
            states[id] = state
            return true
        }
    }

    func read(id: String, context: UpstreamContext) async throws -> Teleconsultation? {
        lock.withLock { states[id] == .published ? teleconsultations[id] : nil }
    }

    func replace(_ t: Teleconsultation, ifVersion: Int?, context: UpstreamContext) async throws -> Bool {
        let step: ReplaceStep? = lock.withLock {
            replaceCalls += 1
            return replaceScript.isEmpty ? nil : replaceScript.removeFirst()
        }
        switch step {
        case .fail?: throw UpstreamError(upstream: "crud", operation: "update", kind: .status(500))
        case .timeout(let landed)?:
            if landed { _ = apply(t, ifVersion: ifVersion) }
            throw UpstreamError(upstream: "crud", operation: "update", kind: .timeout)
        case nil: break
        }
        if failUpdates { throw UpstreamError(upstream: "crud", operation: "update", kind: .status(500)) }
        if alwaysConflict { return false }
        return apply(t, ifVersion: ifVersion)
    }

    func apply(_ t: Teleconsultation, ifVersion: Int?) -> Bool {
        lock.withLock {
            guard let stored = teleconsultations[t.id], states[t.id] == .published, stored.version == ifVersion else { return false }
            teleconsultations[t.id] = t
            return true
        }
    }

    func mappings(externalId: String, context: UpstreamContext) async throws -> [UserMapping] {
        lock.withLock { mappingsById.filter { $0.receivedUserId == externalId } }
    }

    func insertMapping(externalId: String, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        lock.withLock {
            mappingsById.append(UserMapping(id: next(), receivedUserId: externalId, bandyerId: bandyerId, role: role, createdAt: "\(counter)"))
        }
    }

    func repoint(_ mapping: UserMapping, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        lock.withLock {
            if let i = mappingsById.firstIndex(where: { $0.id == mapping.id }) {
                mappingsById[i].bandyerId = bandyerId
                mappingsById[i].role = role
            }
        }
    }

    // MARK: the sweep's view

    func trashedWithRoom(skip: Int, limit: Int, context: UpstreamContext) async throws -> [(teleconsultationId: String, roomId: String)] {
        lock.withLock {
            teleconsultations.values.filter { states[$0.id] == .trashed && $0.bandyerRoomId != nil }
                .sorted { $0.id < $1.id }.dropFirst(skip).prefix(limit).map { ($0.id, $0.bandyerRoomId ?? "") }
        }
    }

    func releaseRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws -> Bool {
        lock.withLock {
            guard states[teleconsultationId] == .trashed, teleconsultations[teleconsultationId]?.bandyerRoomId == roomId else { return false }
            teleconsultations[teleconsultationId]?.bandyerRoomId = nil
            return true
        }
    }

    var failRestore = false

    func restoreRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws {
        if failRestore { throw UpstreamError(upstream: "crud", operation: "restore room", kind: .status(500)) }
        lock.withLock {
            if states[teleconsultationId] == .trashed, teleconsultations[teleconsultationId]?.bandyerRoomId == nil {
                teleconsultations[teleconsultationId]?.bandyerRoomId = roomId
            }
        }
    }

    func referencedRooms(_ roomIds: [String], context: UpstreamContext) async throws -> Set<String> {
        lock.withLock { Set(teleconsultations.values.compactMap(\.bandyerRoomId)).intersection(roomIds) }
    }

    // MARK: room claims

    /// Every claim ever recorded, retired ones too.
    var claims: [RoomClaim] = []
    var retiredClaims: Set<String> = []
    /// When new claims are recorded.
    var claimTime = Timestamp(milliseconds: 0)
    var failClaims = false
    /// Claim writes, in order (insert, room, retire), for tests that count them.
    var claimWrites: [String] = []

    func insertRoomClaim(teleconsultationId: String?, context: UpstreamContext) async throws -> String {
        if failClaims { throw UpstreamError(upstream: "crud", operation: "room claim insert", kind: .status(500)) }
        return lock.withLock {
            let id = next()
            claims.append(RoomClaim(id: id, teleconsultationId: teleconsultationId, createdAt: claimTime, roomId: nil))
            claimWrites.append("insert")
            return id
        }
    }

    func recordClaimedRoom(claimId: String, roomId: String, context: UpstreamContext) async throws {
        if failClaims { throw UpstreamError(upstream: "crud", operation: "room claim update", kind: .status(500)) }
        lock.withLock {
            if let i = claims.firstIndex(where: { $0.id == claimId }) { claims[i].roomId = roomId }
            claimWrites.append("room \(roomId)")
        }
    }

    func insertClaimedRoom(_ roomId: String, teleconsultationId: String, context: UpstreamContext) async throws -> String {
        if failClaims { throw UpstreamError(upstream: "crud", operation: "room claim insert", kind: .status(500)) }
        return lock.withLock {
            let id = next()
            claims.append(RoomClaim(id: id, teleconsultationId: teleconsultationId, createdAt: claimTime, roomId: roomId))
            claimWrites.append("insert \(roomId)")
            return id
        }
    }

    func roomClaims(skip: Int, limit: Int, context: UpstreamContext) async throws -> [RoomClaim] {
        lock.withLock { Array(claims.filter { !retiredClaims.contains($0.id) }.dropFirst(skip).prefix(limit)) }
    }

    func retireRoomClaim(id: String, context: UpstreamContext) async throws {
        lock.withLock {
            retiredClaims.insert(id)
            claimWrites.append("retire")
        }
    }

    /// Claims not retired.
    var liveClaims: [RoomClaim] { lock.withLock { claims.filter { !retiredClaims.contains($0.id) } } }

    /// Stores a teleconsultation in any state, as it is.
    func seed(_ t: Teleconsultation, state: State) {
        lock.withLock {
            teleconsultations[t.id] = t
            states[t.id] = state
        }
    }

    /// A visible teleconsultation.
    func document(_ id: String) -> Teleconsultation? {
        lock.withLock { states[id] == .published ? teleconsultations[id] : nil }
    }

    /// Stores a published teleconsultation as it is (for tests that start from a given state).
    func seed(_ t: Teleconsultation) {
        lock.withLock {
            teleconsultations[t.id] = t
            states[t.id] = .published
        }
    }
}

final class FakeVideo: VideoProvider, @unchecked Sendable {
    let lock = NSLock()
    var users: [(String, Role)] = []
    var rooms: [String: RoomPlan] = [:]
    var deleted: [String] = []
    var failRoomDeletion = false
    /// Members of the next rooms that get no link.
    var withoutLinks: Set<String> = []
    var counter = 0

    func createUser(role: Role, context: UpstreamContext) async throws -> String {
        lock.withLock { counter += 1; let id = "user\(counter)"; users.append((id, role)); return id }
    }

    /// What the next room creations throw (nil: they succeed).
    var createRoomError: UpstreamError?

    func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        if let createRoomError { throw createRoomError }
        return lock.withLock {
            counter += 1
            let id = "room\(counter)"
            rooms[id] = plan
            var links: [String: String] = [:]
            for m in plan.members where !withoutLinks.contains(m.bandyerUserId) { links[m.bandyerUserId] = "https://v/\(id)/\(m.bandyerUserId)" }
            return CreatedRoom(roomId: id, links: links)
        }
    }

    @discardableResult
    func deleteRoom(id: String, context: UpstreamContext) async throws -> Bool {
        if failRoomDeletion || failingRooms.contains(id) { throw UpstreamError(upstream: "bandyer", operation: "delete room", kind: .status(500)) }
        return lock.withLock {
            let existed = rooms[id] != nil || created[id] != nil
            rooms[id] = nil
            created[id] = nil
            deleted.append(id)
            return existed
        }
    }

    /// Rooms the provider lists (with their creation time); nil: a dialect that cannot list.
    var created: [String: Timestamp] = [:]
    var canList = true
    var failingRooms: Set<String> = []

    func rooms(offset: Int, limit: Int, context: UpstreamContext) async throws -> ProviderRoomsPage? {
        guard canList else { return nil }
        return lock.withLock {
            let all = created.sorted { $0.key < $1.key }
            // Pages of at most 2, to walk several.
            let page = all.dropFirst(offset).prefix(min(limit, 2))
            return ProviderRoomsPage(rooms: page.map { ProviderRoom(id: $0.key, createdAt: $0.value) },
                                     nextOffset: offset + page.count < all.count ? offset + page.count : nil)
        }
    }

    var details: [String: RoomDetails] = [:]
    var uploadKeys: [String: [String]] = [:]
    var failingUploads: Set<String> = []
    var deletedUploads: [String] = []
    /// Deletions in flight now, and the most ever at once.
    var deletingNow = 0
    var mostAtOnce = 0
    var credentialsIssued: [(String, Int)] = []

    func roomDetails(id: String, context: UpstreamContext) async throws -> RoomDetails? {
        lock.withLock { rooms[id] == nil ? nil : details[id] ?? RoomDetails(status: "active") }
    }

    func sdkCredentials(userId: String, expiresIn: Int, context: UpstreamContext) async throws -> SDKCredentials {
        lock.withLock { credentialsIssued.append((userId, expiresIn)) }
        return SDKCredentials(accessToken: "token-\(userId)", expiresAt: nil)
    }

    func uploads(roomId: String, context: UpstreamContext) async throws -> [String] { lock.withLock { uploadKeys[roomId] ?? [] } }

    func deleteUpload(key: String, context: UpstreamContext) async throws {
        lock.withLock { deletingNow += 1; mostAtOnce = max(mostAtOnce, deletingNow) }
        await Task.yield()
        await Task.yield()
        lock.withLock { deletingNow -= 1 }
        if failingUploads.contains(key) { throw UpstreamError(upstream: "bandyer", operation: "delete upload", kind: .status(500)) }
        lock.withLock { deletedUploads.append(key) }
    }

    func uploadVirtualBackground(_ image: BackgroundImage, context: UpstreamContext) async throws -> VirtualBackground {
        VirtualBackground(alias: "bg-1", url: "https://v/bg-1.jpg", creationDate: "2026-05-01T00:00:00.000Z")
    }

    func updateCompany(backgroundAlias: String, context: UpstreamContext) async throws -> Company? {
        backgroundAlias == "bg-1" ? Company(fields: ["name": "Clinic"]) : nil
    }
}

struct FakeDirectory: UserDirectory {
    let known: [DirectoryUser]
    var down = false
    func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser] {
        if down { throw UpstreamError(upstream: "auth0", operation: "users", kind: .unreachable("down")) }
        return known.filter { ids.contains($0.userId) }
    }
    func currentUser(context: UpstreamContext) async throws -> DirectoryUser? { nil }
}

/// A clock whose sleeps return at once, moving its time on: retries run instantly.
final class ImmediateClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by d: Duration) -> Instant { Instant(offset: offset + d) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (a: Instant, b: Instant) -> Bool { a.offset < b.offset }
    }
    private let lock = NSLock()
    private var current = Instant(offset: .zero)
    private(set) var sleeps = 0

    var now: Instant { lock.withLock { current } }
    var minimumResolution: Duration { .zero }
    var elapsed: Duration { now.offset }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        lock.withLock {
            sleeps += 1
            if deadline > current { current = deadline }
        }
    }
}

/// Log lines kept in memory, to assert on what was logged.
final class LogRecorder: @unchecked Sendable {
    let lock = NSLock()
    var lines: [[UInt8]] = []
    var text: String { lock.withLock { lines.map { String(decoding: $0, as: UTF8.self) }.joined() } }

    var logger: Logger {
        Logger(label: "test") { label in JSONLogHandler(label: label, level: .trace, sink: { bytes in self.lock.withLock { self.lines.append(bytes) } }) }
    }
}

func context(_ logger: Logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) -> UpstreamContext {
    UpstreamContext(requestId: "test", deadline: .now + .seconds(30), compensationDeadline: .now + .seconds(35), logger: logger)
}
