import StrictJSON
import TeleconsultationDomain

/// What every upstream call carries from the incoming request.
public struct UpstreamContext: Sendable {
    public var requestId: String
    /// Headers named in ADDITIONAL_HEADERS_TO_PROXY (lower-case names), for CRUD and auth0-client only.
    public var proxiedHeaders: [(String, String)]
    /// The user id header, forwarded to the CRUD so it fills creatorId/updaterId.
    public var userIdHeader: (String, String)?
    /// The incoming `client-type`, if any.
    public var clientType: String?
    /// When the whole request must be done: no call may outlive it.
    public var deadline: ContinuousClock.Instant

    public init(requestId: String, proxiedHeaders: [(String, String)] = [], userIdHeader: (String, String)? = nil,
                clientType: String? = nil, deadline: ContinuousClock.Instant) {
        self.requestId = requestId
        self.proxiedHeaders = proxiedHeaders
        self.userIdHeader = userIdHeader
        self.clientType = clientType
        self.deadline = deadline
    }
}

/// An entry of the user-id map.
public struct UserMapping: Sendable, Equatable {
    public var id: String
    public var receivedUserId: String
    public var bandyerId: String
    /// Entries written by the original service have none: treated as basic.
    public var role: Role
    public var createdAt: String

    public init(id: String, receivedUserId: String, bandyerId: String, role: Role, createdAt: String) {
        self.id = id
        self.receivedUserId = receivedUserId
        self.bandyerId = bandyerId
        self.role = role
        self.createdAt = createdAt
    }
}

/// The CRUD states we use: by-id reads see PUBLIC only.
public enum DocumentState: String, Sendable {
    case draft = "DRAFT", `public` = "PUBLIC", trash = "TRASH"
}

/// The teleconsultation store: the CRUD service's two collections.
public protocol TeleconsultationStore: Sendable {
    /// Creates a document in `state`; returns its `_id`.
    func create(_ fields: JSONObject, state: DocumentState, context: UpstreamContext) async throws -> String
    /// nil when absent or not PUBLIC.
    func read(id: String, context: UpstreamContext) async throws -> JSONValue?
    /// Conditional update of a PUBLIC document: applied only while the stored `version` is
    /// `expectedVersion` (nil: a document without the field). False when the id or the
    /// condition did not match.
    func update(id: String, expectedVersion: Int?, set: JSONObject, unset: [String], context: UpstreamContext) async throws -> Bool
    /// Moves a document to `state`; false when absent.
    func changeState(id: String, to state: DocumentState, context: UpstreamContext) async throws -> Bool

    /// Every map entry for one external id, oldest first.
    func mappings(externalId: String, context: UpstreamContext) async throws -> [UserMapping]
    func insertMapping(externalId: String, bandyerId: String, role: Role, context: UpstreamContext) async throws
    func repointMapping(id: String, bandyerId: String, role: Role, context: UpstreamContext) async throws
}

/// A room as Bandyer made it.
public struct CreatedRoom: Sendable, Equatable {
    public var roomId: String
    /// Bandyer user id → personal link.
    public var links: [String: String]
    public init(roomId: String, links: [String: String]) {
        self.roomId = roomId
        self.links = links
    }
}

/// The video provider (Bandyer v1).
public protocol VideoProvider: Sendable {
    func createUser(role: Role, context: UpstreamContext) async throws -> String
    func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom
    /// Succeeds when the room is already gone.
    func deleteRoom(id: String, context: UpstreamContext) async throws
}

/// A user as auth0-client knows it.
public struct DirectoryUser: Sendable, Equatable {
    public var userId: String
    public var name: String?
    public var groups: [String]
    public init(userId: String, name: String?, groups: [String]) {
        self.userId = userId
        self.name = name
        self.groups = groups
    }
}

/// The user directory (auth0-client), auth0 mode only.
public protocol UserDirectory: Sendable {
    /// The users among `ids` it knows (one call).
    func users(ids: [String], context: UpstreamContext) async throws -> [DirectoryUser]
}
