import Foundation
import Logging
import StrictJSON
import Synchronization
import TeleconsultationDomain
@testable import TeleconsultationService

/// In-memory ports for unit tests.
final class InMemoryStore: TeleconsultationStore, @unchecked Sendable {
    let lock = NSLock()
    var documents: [String: JSONObject] = [:]
    var states: [String: DocumentState] = [:]
    var trashed: Set<String> { Set(states.filter { $0.value == .trash }.keys) }
    var mappingsById: [UserMapping] = []
    var counter = 0
    var failUpdates = false
    var alwaysConflict = false

    func next() -> String { counter += 1; return String(format: "%024x", counter) }

    func create(_ fields: JSONObject, state: DocumentState, context: UpstreamContext) async throws -> String {
        lock.withLock {
            let id = next()
            var doc = fields
            doc["_id"] = .string(id)
            documents[id] = doc
            states[id] = state
            return id
        }
    }

    func read(id: String, context: UpstreamContext) async throws -> JSONValue? {
        lock.withLock { states[id] == .public ? documents[id].map(JSONValue.object) : nil }
    }

    func update(id: String, expectedVersion: Int?, set: JSONObject, unset: [String], context: UpstreamContext) async throws -> Bool {
        if failUpdates { throw UpstreamError(upstream: "crud", operation: "update", kind: .status(500)) }
        if alwaysConflict { return false }
        return lock.withLock {
            guard var doc = documents[id], states[id] == .public, doc["version"]?.intValue == expectedVersion else { return false }
            for m in set.members { doc[m.key] = m.value }
            for k in unset { doc[k] = nil }
            documents[id] = doc
            return true
        }
    }

    func changeState(id: String, to state: DocumentState, context: UpstreamContext) async throws -> Bool {
        lock.withLock {
            guard let from = states[id] else { return false }
            if from == .trash && state != .draft { return false }
            states[id] = state
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

    func repointMapping(id: String, bandyerId: String, role: Role, context: UpstreamContext) async throws {
        lock.withLock {
            if let i = mappingsById.firstIndex(where: { $0.id == id }) {
                mappingsById[i].bandyerId = bandyerId
                mappingsById[i].role = role
            }
        }
    }

    func document(_ id: String) -> Teleconsultation? {
        lock.withLock { states[id] == .public ? documents[id].flatMap { Teleconsultation(document: .object($0)) } : nil }
    }
}

final class FakeVideo: VideoProvider, @unchecked Sendable {
    let lock = NSLock()
    var users: [(String, Role)] = []
    var rooms: [String: RoomPlan] = [:]
    var deleted: [String] = []
    var failRoomDeletion = false
    var counter = 0

    func createUser(role: Role, context: UpstreamContext) async throws -> String {
        lock.withLock { counter += 1; let id = "user\(counter)"; users.append((id, role)); return id }
    }

    func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom {
        lock.withLock {
            counter += 1
            let id = "room\(counter)"
            rooms[id] = plan
            return CreatedRoom(roomId: id, links: Dictionary(uniqueKeysWithValues: plan.members.map { ($0.bandyerUserId, "https://v/\(id)/\($0.bandyerUserId)") }))
        }
    }

    func deleteRoom(id: String, context: UpstreamContext) async throws {
        if failRoomDeletion { throw UpstreamError(upstream: "bandyer", operation: "delete room", kind: .status(500)) }
        lock.withLock { rooms[id] = nil; deleted.append(id) }
    }
}

struct FakeDirectory: UserDirectory {
    let known: [DirectoryUser]
    func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser] {
        known.filter { ids.contains($0.userId) }
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

func context() -> UpstreamContext { UpstreamContext(requestId: "test", deadline: .now + .seconds(30)) }
