import TeleconsultationDomain

/// The teleconsultations and the user-id map, as the CRUD service keeps them. Speaks
/// domain values; the wire format is the adapter's.
public protocol TeleconsultationStore: Sendable {
    /// Stores a new teleconsultation invisible to reads (DRAFT); returns its id.
    func insertDraft(_ teleconsultation: Teleconsultation, context: UpstreamContext) async throws -> String
    /// Makes a draft visible; false when it is gone.
    func publish(id: String, context: UpstreamContext) async throws -> Bool
    /// Moves a teleconsultation to TRASH (from which it cannot be published); false when absent.
    func trash(id: String, context: UpstreamContext) async throws -> Bool
    /// A visible teleconsultation; nil when absent, trashed or still a draft.
    func read(id: String, context: UpstreamContext) async throws -> Teleconsultation?
    /// Stores `teleconsultation` (its `version` included) only while the stored version is
    /// `ifVersion` (nil: a document without one). False when the id or the version did not match.
    func replace(_ teleconsultation: Teleconsultation, ifVersion: Int?, context: UpstreamContext) async throws -> Bool

    // The sweep's view: trashed teleconsultations that still name a room, and which rooms
    // any teleconsultation (PUBLIC, DRAFT or TRASH) points to.

    /// Trashed teleconsultations that still name a room, oldest id first, from `skip`.
    func trashedWithRoom(skip: Int, limit: Int, context: UpstreamContext) async throws -> [(teleconsultationId: String, roomId: String)]
    /// Takes the room id off a trashed teleconsultation if it still names `roomId`: true for
    /// the one caller that did (two sweeps at once never both get true).
    func releaseRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws -> Bool
    /// Puts the room id back on a trashed teleconsultation (the room could not be deleted).
    func restoreRoom(teleconsultationId: String, roomId: String, context: UpstreamContext) async throws
    /// The rooms among `roomIds` that some teleconsultation, in any state, points to (every
    /// page of the answer).
    func referencedRooms(_ roomIds: [String], context: UpstreamContext) async throws -> Set<String>

    // Room claims: the intent to make a room, recorded before the provider is asked, so the
    // sweep knows which rooms this deployment made (and never touches any other).

    /// Records a claim for a room about to be made (for `teleconsultationId` when it exists
    /// already); returns the claim's id.
    func insertRoomClaim(teleconsultationId: String?, context: UpstreamContext) async throws -> String
    /// Writes the room id on a claim once the provider answered.
    func recordClaimedRoom(claimId: String, roomId: String, context: UpstreamContext) async throws
    /// Records a claim for a room that exists already (the sweep, before it takes a room id
    /// off a trashed teleconsultation); returns the claim's id.
    func insertClaimedRoom(_ roomId: String, teleconsultationId: String, context: UpstreamContext) async throws -> String
    /// This deployment's claims (those of its teleconsultations collection), oldest first, from `skip`.
    func roomClaims(skip: Int, limit: Int, context: UpstreamContext) async throws -> [RoomClaim]
    /// Retires a claim whose room is gone; retired claims are no longer listed.
    func retireRoomClaim(id: String, context: UpstreamContext) async throws

    /// Every map entry for one external id, oldest first.
    func mappings(externalId: String, context: UpstreamContext) async throws -> [UserMapping]
    func insertMapping(externalId: String, bandyerId: String, role: Role, context: UpstreamContext) async throws
    /// Points an entry at another Bandyer user (an upgrade to plus), in today's field names.
    func repoint(_ mapping: UserMapping, bandyerId: String, role: Role, context: UpstreamContext) async throws
}

/// An entry of the user-id map.
public struct UserMapping: Sendable, Equatable {
    public var id: String
    public var receivedUserId: String
    public var bandyerId: String
    /// Entries written by the original service have none: treated as basic.
    public var role: Role
    public var createdAt: String
    /// Written by the original's 1.0–1.1 schema (`auth0Id` instead of `receivedUserId`).
    public var isLegacy: Bool

    public init(id: String, receivedUserId: String, bandyerId: String, role: Role, createdAt: String, isLegacy: Bool = false) {
        self.id = id
        self.receivedUserId = receivedUserId
        self.bandyerId = bandyerId
        self.role = role
        self.createdAt = createdAt
        self.isLegacy = isLegacy
    }
}

/// A claim on a provider room, as the sweep reads it.
public struct RoomClaim: Sendable, Equatable {
    public var id: String
    public var teleconsultationId: String?
    /// When the claim was recorded; nil when the store did not say (such a claim is never old).
    public var createdAt: Timestamp?
    /// nil while the provider has not answered (or never did: a creation that timed out).
    public var roomId: String?

    public init(id: String, teleconsultationId: String?, createdAt: Timestamp?, roomId: String?) {
        self.id = id
        self.teleconsultationId = teleconsultationId
        self.createdAt = createdAt
        self.roomId = roomId
    }
}
