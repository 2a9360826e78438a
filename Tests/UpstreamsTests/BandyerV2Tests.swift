import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts
import Testing
@testable import Upstreams

/// The v2 dialect: resource paths, and the answer shapes it tolerates.
@Suite struct BandyerV2Tests {
    func provider(_ t: RecordedTransport) -> BandyerVideoProvider {
        BandyerVideoProvider(http: UpstreamHTTP(transport: t), baseURL: "https://api.sandbox.eu.bandyer.com/v2", apiKey: "K", timeout: .seconds(2), dialect: .v2)
    }

    static let plan = RoomPlan(members: [.init(bandyerUserId: "u1", isAdmin: true, tools: nil), .init(bandyerUserId: "u2", isAdmin: false, tools: nil)],
                               durationSeconds: nil, live: true)

    @Test(arguments: [["id": "abc"] as JSONValue, ["user_id": "abc"], ["user": ["id": "abc"]]])
    func usersAreResourcesAndTheirIdIsFoundInEveryShape(_ answer: JSONValue) async throws {
        let t = RecordedTransport(json: [(201, answer)])
        #expect(try await provider(t).createUser(role: .basic, context: context()) == "abc")
        #expect(t.sent[0].method == "POST" && t.sent[0].url == "https://api.sandbox.eu.bandyer.com/v2/users" && t.sent[0].json == ["role": "basic"])
    }

    @Test(arguments: [
        ["id": "r1", "participants": [["user_id": "u1", "link": "https://l/1"], ["user_id": "u2", "url": "https://l/2"]]] as JSONValue,
        ["room_id": "r1", "user_urls": [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "https://l/2"]]],
        ["room": ["room_id": "r1", "user_urls": [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "https://l/2"]]]],
        ["room": ["id": "r1", "participants": [["id": "u1", "link": "https://l/1"], ["id": "u2", "link": "https://l/2"]]]],
    ])
    func roomsAreReadInEveryShapeTheDialectMayAnswer(_ answer: JSONValue) async throws {
        let t = RecordedTransport(json: [(201, answer)])
        let room = try await provider(t).createRoom(Self.plan, context: context())
        #expect(room == CreatedRoom(roomId: "r1", links: ["u1": "https://l/1", "u2": "https://l/2"]))
        #expect(t.sent[0].url.hasSuffix("/v2/rooms"))
        #expect(t.sent[0].json == ["participants": [["user_id": "u1", "is_admin": true], ["user_id": "u2", "is_admin": false]],
                                   "live": true, "recording": "none"])
    }

    @Test func theRecordingModeIsNamedInV2AndAFlagInV1() async throws {
        var plan = Self.plan
        plan.recording = .automatic
        let v2 = RecordedTransport(json: [(201, ["id": "r"])])
        _ = try? await provider(v2).createRoom(plan, context: context())
        #expect(v2.sent[0].json?["recording"] == "automatic")
        let v1 = RecordedTransport(json: [(200, ["room": ["room_id": "r"]])])
        _ = try? await BandyerVideoProvider(http: UpstreamHTTP(transport: v1), baseURL: "http://b", apiKey: "K", timeout: .seconds(2))
            .createRoom(plan, context: context())
        #expect(v1.sent[0].json?["recording"] == true && v1.sent[0].json?["recording_type"] == "automatic")
    }

    @Test func roomPathsAndInformation() async throws {
        let t = RecordedTransport(json: [(200, ["id": "r1", "recording": "manual", "recording_status": "started", "duration": 600, "live": false]),
                                         (404, [:]), (204, [:]), (404, [:])])
        let p = provider(t)
        let details = try #require(try await p.roomDetails(id: "r1", context: context()))
        #expect(details == RoomDetails(recording: "manual", recordingStatus: "started", durationInSeconds: 600, live: false))
        #expect(try await p.roomDetails(id: "r1", context: context()) == nil)
        #expect(try await p.deleteRoom(id: "r1", context: context()) == true)
        #expect(try await p.deleteRoom(id: "r1", context: context()) == false)
        #expect(t.sent.map { "\($0.method) \($0.url)" } == ["GET", "GET", "DELETE", "DELETE"].map { "\($0) https://api.sandbox.eu.bandyer.com/v2/rooms/r1" })
    }

    @Test func uploadsAreReadPageByPageUntilThereAreNoMore() async throws {
        let t = RecordedTransport(json: [
            (200, ["offset": 0, "limit": 100, "has_more": true, "count": 3, "uploads": [["key": "a"], ["key": "b"]]]),
            (200, ["offset": 2, "limit": 100, "has_more": false, "count": 3, "uploads": [["key": "c/d e"]]]),
            (204, [:]),
        ])
        let p = provider(t)
        #expect(try await p.uploads(roomId: "r1", context: context()) == ["a", "b", "c/d e"])
        #expect(t.sent[0].query("room_id") == "r1" && t.sent[0].query("offset") == "0" && t.sent[1].query("offset") == "2")
        try await p.deleteUpload(key: "c/d e", context: context())
        #expect(t.sent[2].method == "DELETE" && t.sent[2].url == "https://api.sandbox.eu.bandyer.com/v2/uploads/c%2Fd%20e")
    }

    @Test(arguments: [["name": "Clinic"] as JSONValue, ["company": ["name": "Clinic"]]])
    func theCompanyIsPutAndReadAtTheTopOrUnderCompany(_ answer: JSONValue) async throws {
        let t = RecordedTransport(json: [(200, answer), (404, ["error": "unknown alias"])])
        let p = provider(t)
        #expect(try await p.updateCompany(backgroundAlias: "bg", context: context())?.fields["name"] == "Clinic")
        #expect(t.sent[0].method == "PUT" && t.sent[0].url.hasSuffix("/v2/company") && t.sent[0].json == ["background_alias": "bg"])
        #expect(try await p.updateCompany(backgroundAlias: "nope", context: context()) == nil)
    }

    @Test func roomsAreListedForTheSweepAndV1CannotList() async throws {
        let t = RecordedTransport(json: [(200, ["rooms": [["id": "r1", "creation_date": "2026-01-01T00:00:00.000Z"], ["room_id": "r2"], ["id": "../x"]],
                                                "has_more": true])])
        let page = try #require(try await provider(t).rooms(offset: 0, limit: 100, context: context()))
        #expect(page.rooms == [ProviderRoom(id: "r1", createdAt: Timestamp(iso: "2026-01-01T00:00:00.000Z")), ProviderRoom(id: "r2", createdAt: nil)])
        #expect(page.nextOffset == 3 && t.sent[0].query("limit") == "100")
        let v1 = RecordedTransport(json: [])
        #expect(try await BandyerVideoProvider(http: UpstreamHTTP(transport: v1), baseURL: "http://b", apiKey: "K", timeout: .seconds(2))
            .rooms(offset: 0, limit: 100, context: context()) == nil)
        #expect(v1.sent.isEmpty)
    }

    @Test func aRoomIdIsReadFromRoomIdBeforeAnyId() async throws {
        let links: JSONValue = [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "https://l/2"]]
        let t = RecordedTransport(json: [(201, ["id": "not-the-room", "room_id": "r1", "user_urls": links]),
                                         (201, ["id": "not-the-room", "room": ["room_id": "r2", "user_urls": links]])])
        #expect(try await provider(t).createRoom(Self.plan, context: context()).roomId == "r1")
        #expect(try await provider(t).createRoom(Self.plan, context: context()).roomId == "r2")
    }

    @Test func aListingWhoseIdsDisagreeIsRefusedNotGuessed() async throws {
        let t = RecordedTransport(json: [(200, ["rooms": [["id": "r1", "room_id": "r1"], ["id": "x1", "room_id": "r2"]], "has_more": false])])
        await #expect(throws: UpstreamError.self) { try await provider(t).rooms(offset: 0, limit: 100, context: context()) }
    }

    @Test func sdkCredentialsExpireWhenTheProviderSays() async throws {
        let t = RecordedTransport(json: [(200, ["access_token": "tok", "expires_at": "2026-01-01T00:00:00Z", "user_id": "u1"]),
                                         (200, ["access_token": "tok", "expires_at": 1_767_225_600]), (200, ["access_token": "tok"])])
        let p = provider(t)
        #expect(try await p.sdkCredentials(userId: "u1", expiresIn: 600, context: context()).expiresAt == Timestamp(iso: "2026-01-01T00:00:00Z"))
        #expect(try await p.sdkCredentials(userId: "u1", expiresIn: 600, context: context()).expiresAt == Timestamp(iso: "2026-01-01T00:00:00Z"))
        #expect(try await p.sdkCredentials(userId: "u1", expiresIn: 600, context: context()).expiresAt == nil)
        #expect(t.sent[0].json == ["user_id": "u1", "expires_in": 600] && t.sent[0].url.hasSuffix("/v2/sdk/credentials"))
    }
}
