import StrictJSON
import TeleconsultationDomain

/// The video provider (Bandyer / Kaleyra Video).
public protocol VideoProvider: Sendable {
    func createUser(role: Role, context: UpstreamContext) async throws -> String
    /// The room as the provider made it. Links may be missing: the caller checks that each
    /// member has one (a room without them is deleted on the one compensation path).
    func createRoom(_ plan: RoomPlan, context: UpstreamContext) async throws -> CreatedRoom
    /// Succeeds when the room is already gone: true when this call deleted it, false when it was gone.
    @discardableResult
    func deleteRoom(id: String, context: UpstreamContext) async throws -> Bool
    /// One page of every room the company has (the sweep); nil where the dialect cannot list rooms.
    func rooms(offset: Int, limit: Int, context: UpstreamContext) async throws -> ProviderRoomsPage?
    /// What the provider says about a room; nil when it is gone.
    func roomDetails(id: String, context: UpstreamContext) async throws -> RoomDetails?
    /// An SDK access token for one user.
    func sdkCredentials(userId: String, expiresIn: Int, context: UpstreamContext) async throws -> SDKCredentials
    /// The keys of every file uploaded in a room, every page of them.
    func uploads(roomId: String, context: UpstreamContext) async throws -> [String]
    /// Deletes one upload; succeeds when it is already gone.
    func deleteUpload(key: String, context: UpstreamContext) async throws
    /// Uploads a virtual background for the company.
    func uploadVirtualBackground(_ image: BackgroundImage, context: UpstreamContext) async throws -> VirtualBackground
    /// Makes `backgroundAlias` the company's default background; nil when the provider does not know the alias.
    func updateCompany(backgroundAlias: String, context: UpstreamContext) async throws -> Company?
}

/// A room as the provider lists it.
public struct ProviderRoom: Sendable, Equatable {
    public var id: String
    /// nil when the provider did not say (such a room is never taken for an old one).
    public var createdAt: Timestamp?
    public init(id: String, createdAt: Timestamp?) {
        self.id = id
        self.createdAt = createdAt
    }
}

public struct ProviderRoomsPage: Sendable, Equatable {
    public var rooms: [ProviderRoom]
    /// Where the next page starts; nil after the last.
    public var nextOffset: Int?
    public init(rooms: [ProviderRoom], nextOffset: Int?) {
        self.rooms = rooms
        self.nextOffset = nextOffset
    }
}

/// An SDK token as the provider issued it.
public struct SDKCredentials: Sendable, Equatable {
    public var accessToken: String
    /// nil when the provider did not say.
    public var expiresAt: Timestamp?
    public init(accessToken: String, expiresAt: Timestamp?) {
        self.accessToken = accessToken
        self.expiresAt = expiresAt
    }
}

/// A virtual background the provider stored.
public struct VirtualBackground: Sendable, Equatable {
    public var alias: String
    public var url: JSONValue
    public var creationDate: JSONValue
    public init(alias: String, url: JSONValue, creationDate: JSONValue) {
        self.alias = alias
        self.url = url
        self.creationDate = creationDate
    }
}

/// The company's settings as the provider answered them (its field names, values as given).
public struct Company: Sendable, Equatable {
    public var fields: JSONObject
    public init(fields: JSONObject) { self.fields = fields }
}

/// A room as the provider made it.
public struct CreatedRoom: Sendable, Equatable {
    public var roomId: String
    /// Bandyer user id → personal link.
    public var links: [String: String]
    public init(roomId: String, links: [String: String]) {
        self.roomId = roomId
        self.links = links
    }
}
