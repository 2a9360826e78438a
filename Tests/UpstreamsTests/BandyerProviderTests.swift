import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts
import Testing
@testable import Upstreams

@Suite struct BandyerProviderTests {
    func provider(_ t: RecordedTransport) -> BandyerVideoProvider {
        BandyerVideoProvider(http: UpstreamHTTP(transport: t), baseURL: "http://b/rest", apiKey: "KEY-123", timeout: .seconds(2))
    }

    static let plan = RoomPlan(members: [.init(bandyerUserId: "u1", isAdmin: true, tools: ToolSet([("chat", true)])),
                                         .init(bandyerUserId: "u2", isAdmin: false, tools: nil)],
                               durationSeconds: 600, live: false, recording: .automatic)

    @Test(arguments: [
        ["user_id": "abc"] as JSONValue, ["id": "abc"], ["user": ["id": "abc"]], ["user": ["user_id": "abc"]],
    ])
    func userIdsAreFoundInEveryShapeV1Uses(_ answer: JSONValue) async throws {
        let t = RecordedTransport(json: [(201, answer)])
        #expect(try await provider(t).createUser(role: .plus, context: context(proxied: [("cookie", "c")])) == "abc")
        #expect(t.sent[0].method == "POST" && t.sent[0].url == "http://b/rest/user/create" && t.sent[0].json == ["role": "plus"])
        #expect(t.sent[0].header("apikey") == ["KEY-123"] && t.sent[0].header("cookie").isEmpty && t.sent[0].header("miauserid").isEmpty)
    }

    @Test(arguments: [["user": [:]] as JSONValue, ["user_id": "../../etc"], ["user_id": 5]])
    func userAnswersOutsideTheContractAre502(_ answer: JSONValue) async {
        await #expect(throws: UpstreamError.self) { try await provider(RecordedTransport(json: [(200, answer)])).createUser(role: .basic, context: context()) }
    }

    /// Ids and keys from the provider go into its paths: none may change the path, in either dialect.
    @Test(arguments: BandyerVideoProvider.Dialect.allCases)
    func idsThatWouldChangeAPathAreRefusedBeforeAnyCall(_ dialect: BandyerVideoProvider.Dialect) async throws {
        let t = RecordedTransport(json: [])
        let p = BandyerVideoProvider(http: UpstreamHTTP(transport: t), baseURL: "http://b/rest", apiKey: "K", timeout: .seconds(2), dialect: dialect)
        for id in ["..", ".", "a/b", "../x", "a b", "x\u{0}"] {
            await #expect(throws: UpstreamError.self, "room \(id)") { try await p.deleteRoom(id: id, context: context()) }
            await #expect(throws: UpstreamError.self, "room \(id)") { _ = try await p.roomDetails(id: id, context: context()) }
            await #expect(throws: UpstreamError.self, "room \(id)") { _ = try await p.uploads(roomId: id, context: context()) }
        }
        for key in ["..", ".", "", "k\u{7f}"] {
            await #expect(throws: UpstreamError.self, "key \(key)") { try await p.deleteUpload(key: key, context: context()) }
        }
        #expect(t.sent.isEmpty, "\(t.sent.map(\.url))")
        // A room id of dots in a creation answer is refused too (and a key with a slash is encoded as one segment).
        let links: JSONValue = [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "https://l/2"]]
        let created = RecordedTransport(json: [(200, ["room": ["room_id": "..", "user_urls": links]]), (200, [:])])
        let q = BandyerVideoProvider(http: UpstreamHTTP(transport: created), baseURL: "http://b/rest", apiKey: "K", timeout: .seconds(2), dialect: dialect)
        await #expect(throws: UpstreamError.self) { try await q.createRoom(Self.plan, context: context()) }
        try await q.deleteUpload(key: "a/../b", context: context())
        #expect(created.sent.last?.url.hasSuffix("/a%2F..%2Fb") == true, "\(created.sent.last?.url ?? "")")
    }

    @Test func roomCreationSendsThePlanAndReadsEveryAnswerShape() async throws {
        let nested: JSONValue = ["room": ["room_id": "r1", "user_urls": [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "https://l/2"]]]]
        let flat: JSONValue = ["room_id": "r1", "user_urls": [["user": "u1", "url": "https://l/1"], ["user": "u2", "url": "javascript:x"]]]
        let t = RecordedTransport(json: [(200, nested), (201, flat)])
        let room = try await provider(t).createRoom(Self.plan, context: context())
        #expect(room == CreatedRoom(roomId: "r1", links: ["u1": "https://l/1", "u2": "https://l/2"]))
        #expect(t.sent[0].url == "http://b/rest/room/create")
        #expect(t.sent[0].json == ["participants": [["user_id": "u1", "is_admin": true, "tools": ["chat": true]], ["user_id": "u2", "is_admin": false]],
                                   "duration": 600, "live": false, "recording": true, "recording_type": "automatic"])
        // A link that is not http(s) is no link: the caller deletes such a room.
        #expect(try await provider(t).createRoom(Self.plan, context: context()).links == ["u1": "https://l/1"])
    }

    @Test func roomDeletionTakesAGoneRoomAsDone() async throws {
        let t = RecordedTransport(json: [(404, ["error": "gone"]), (204, [:]), (500, ["error": "boom"])])
        try await provider(t).deleteRoom(id: "r1", context: context())
        try await provider(t).deleteRoom(id: "r1", context: context())
        await #expect(throws: UpstreamError.self) { try await provider(t).deleteRoom(id: "r1", context: context()) }
        #expect(t.sent.map(\.url) == Array(repeating: "http://b/rest/room/delete/r1", count: 3) && t.sent.allSatisfy { $0.method == "DELETE" })
        await #expect(throws: UpstreamError.self) { try await provider(t).deleteRoom(id: "../x", context: context()) }
        #expect(t.sent.count == 3)
    }

    @Test func errorBodiesAreNeverLoggedOnlyTheirStatusAndLength() async throws {
        let lines = Lines()
        let t = RecordedTransport([.success(UpstreamAnswer(status: 500, body: Array(#"{"user_urls":[{"url":"https://private/link"}]}"#.utf8))),
                                   .success(UpstreamAnswer(status: 400, body: Array(#"{"message":"bad apikey KEY-123"}"#.utf8)))])
        await #expect(throws: UpstreamError.self) { try await provider(t).createRoom(Self.plan, context: context(lines.logger)) }
        await #expect(throws: UpstreamError.self) { try await provider(t).createUser(role: .plus, context: context(lines.logger)) }
        #expect(lines.all.count == 2 && !lines.all[0].contains("private") && lines.all[0].contains("status=500"))
        #expect(!lines.all[1].contains("bad apikey") && !lines.all[1].contains("KEY-123") && lines.all[1].contains("status=400"))
        #expect(lines.all.allSatisfy { $0.contains("reqId=req-1") && $0.contains("bodyLength=") && $0.contains("upstream=bandyer") }, "\(lines.all)")
    }
}
