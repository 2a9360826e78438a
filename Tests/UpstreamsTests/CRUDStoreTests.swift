import StrictJSON
import TeleconsultationDomain
import TeleconsultationPorts
import Testing
@testable import Upstreams

@Suite struct CRUDStoreTests {
    static let id = "0123456789abcdef01234567"

    func store(_ t: RecordedTransport) -> CRUDTeleconsultationStore {
        CRUDTeleconsultationStore(http: UpstreamHTTP(transport: t), baseURL: "http://crud", teleconsultations: "teleconsultations",
                                  userMap: "teleconsultation-users", roomClaims: "teleconsultation-room-claims", timeout: .seconds(2))
    }

    static let document: JSONValue = [
        "_id": .string(id), "__STATE__": "PUBLIC", "startDate": "2026-06-01T10:00:00.000Z", "endDate": "2026-06-01T10:30:00.000Z",
        "participantsNumber": 2, "bandyerRoomId": "room_1", "version": 4, "teleconsultationState": "READY",
        "participants": [["userExternalId": "d", "userBandyerId": "b1", "groups": ["doctor"], "fullName": "D", "language": "it",
                          "accessLinkURL": "https://v/1"], ["userExternalId": "p", "userBandyerId": "b2", "accessLinkURL": "https://v/2"]],
        "creatorId": "x", "createdAt": "2026-01-01T00:00:00.000Z",
    ]

    @Test func readMapsTheDocumentToDomainValues() async throws {
        let t = RecordedTransport(json: [(200, Self.document)])
        let read = try #require(try await store(t).read(id: Self.id, context: context()))
        #expect(read.startDate == Timestamp(iso: "2026-06-01T10:00:00.000Z") && read.participantsNumber == 2 && read.version == 4)
        #expect(read.bandyerRoomId == "room_1" && read.participants.map(\.userBandyerId) == ["b1", "b2"])
        #expect(read.participants[0] == Participant(userExternalId: "d", userBandyerId: "b1", groups: ["doctor"], fullName: "D", language: "it",
                                                    accessLinkURL: "https://v/1"))
        #expect(t.sent[0].method == "GET" && t.sent[0].url == "http://crud/teleconsultations/\(Self.id)")
        #expect(t.sent[0].header("x-request-id") == ["req-1"] && t.sent[0].header("miauserid") == ["creator"])
    }

    @Test func absentIsNilAndAnythingElseIsA502() async throws {
        #expect(try await store(RecordedTransport(json: [(404, ["error": "not found"])])).read(id: Self.id, context: context()) == nil)
        var bad = Self.document.objectValue!
        bad["bandyerRoomId"] = "../../etc"
        await #expect(throws: UpstreamError.self) { try await store(RecordedTransport(json: [(200, .object(bad))])).read(id: Self.id, context: context()) }
        await #expect(throws: UpstreamError.self) { try await store(RecordedTransport(json: [(200, ["_id": .string(Self.id), "startDate": JSONValue.number(5)])])).read(id: Self.id, context: context()) }
        await #expect(throws: UpstreamError.self) { try await store(RecordedTransport(json: [(500, ["error": "boom"])])).read(id: Self.id, context: context()) }
    }

    @Test func legacyDocumentsOfTheFirstSchemaAreRead() async throws {
        // 1.0–1.1: participants {bandyerId, accessLinkURL}, no participantsNumber, no dates.
        let legacy: JSONValue = ["_id": .string(Self.id), "bandyerRoomId": "room_9",
                                 "participants": [["bandyerId": "b1", "accessLinkURL": "https://v/1"], ["bandyerId": "b2", "accessLinkURL": "https://v/2"]]]
        let map: JSONValue = [["_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "auth0Id": "auth0|d", "bandyerId": "b1"],
                              ["_id": "bbbbbbbbbbbbbbbbbbbbbbbb", "receivedUserId": "auth0|p", "bandyerId": "b2"]]
        let t = RecordedTransport(json: [(200, legacy), (200, map)])
        let read = try #require(try await store(t).read(id: Self.id, context: context()))
        #expect(read.participants.map(\.userExternalId) == ["auth0|d", "auth0|p"] && read.participants.map(\.userBandyerId) == ["b1", "b2"])
        #expect(read.isComplete && read.participantsNumber == 2 && read.startDate == Timestamp(milliseconds: 0))
        #expect(try JSONParser.parse(t.sent[1].query("_q") ?? "") == ["bandyerId": ["$in": ["b1", "b2"]]])
        // Written back in today's names.
        let fields = CRUDDocuments.fields(of: read)
        #expect(fields["participants"]?.arrayValue?.first == ["userExternalId": "auth0|d", "userBandyerId": "b1", "accessLinkURL": "https://v/1"])
    }

    @Test func insertIsADraftWithTheDeclaredFields() async throws {
        let t = RecordedTransport(json: [(200, ["_id": .string(Self.id)])])
        let doc = Teleconsultation(id: "", startDate: Timestamp(iso: "2026-06-01T10:00:00Z")!, endDate: Timestamp(iso: "2026-06-01T10:30:00Z")!,
                                   participantsNumber: 3, participants: [Participant(userExternalId: "d", userBandyerId: "b1")], version: 1)
        #expect(try await store(t).insertDraft(doc, context: context()) == Self.id)
        #expect(t.sent[0].url == "http://crud/teleconsultations/")
        #expect(t.sent[0].json == ["startDate": "2026-06-01T10:00:00.000Z", "endDate": "2026-06-01T10:30:00.000Z", "participantsNumber": 3,
                                   "participants": [["userExternalId": "d", "userBandyerId": "b1"]],
                                   "teleconsultationState": "WAITING_PARTICIPANTS", "version": 1, "__STATE__": "DRAFT"])
    }

    @Test func replaceIsAConditionalPatchThatUnsetsAGoneRoom() async throws {
        let t = RecordedTransport(json: [(200, Self.document), (404, ["error": "not found"])])
        var doc = Teleconsultation(id: Self.id, startDate: Timestamp(milliseconds: 0), endDate: Timestamp(milliseconds: 60_000),
                                   participantsNumber: 2, participants: [], version: 5)
        #expect(try await store(t).replace(doc, ifVersion: 4, context: context()))
        #expect(t.sent[0].method == "PATCH" && t.sent[0].query("_q") == #"{"version":4}"#)
        #expect(t.sent[0].json?["$unset"] == ["bandyerRoomId": true] && t.sent[0].json?["$set"]?["version"] == 5)
        doc.bandyerRoomId = "r"
        #expect(try await store(t).replace(doc, ifVersion: nil, context: context()) == false)
        #expect(t.sent[1].query("_q") == #"{"version":{"$exists":false}}"# && t.sent[1].json?["$unset"] == nil)
    }

    @Test func roomClaimsNameTheirCollectionAndOnlyItsOwnAreRead() async throws {
        let claim = "abcdefabcdefabcdefabcdef"
        let t = RecordedTransport(json: [
            (200, ["_id": .string(claim)]), (200, ["_id": .string(claim), "bandyerRoomId": "r1"]),
            (200, [["_id": .string(claim), "collection": "teleconsultations", "bandyerRoomId": "r1", "createdAt": "2026-06-01T10:00:00.000Z"],
                   ["_id": "bbbbbbbbbbbbbbbbbbbbbbbb", "collection": "staging-teleconsultations", "bandyerRoomId": "theirs"]]),
            (204, nil),
        ])
        let s = store(t)
        #expect(try await s.insertRoomClaim(teleconsultationId: nil, context: context()) == claim)
        #expect(t.sent[0].method == "POST" && t.sent[0].url == "http://crud/teleconsultation-room-claims/")
        #expect(t.sent[0].json == ["collection": "teleconsultations", "__STATE__": "PUBLIC"])
        try await s.recordClaimedRoom(claimId: claim, roomId: "r1", context: context())
        #expect(t.sent[1].method == "PATCH" && t.sent[1].json == ["$set": ["bandyerRoomId": "r1"]])
        let claims = try await s.roomClaims(skip: 0, limit: 100, context: context())
        #expect(t.sent[2].query("_q") == #"{"collection":"teleconsultations"}"#)
        #expect(claims == [RoomClaim(id: claim, teleconsultationId: nil, createdAt: Timestamp(iso: "2026-06-01T10:00:00.000Z"), roomId: "r1")])
        try await s.retireRoomClaim(id: claim, context: context())
        #expect(t.sent[3].url == "http://crud/teleconsultation-room-claims/\(claim)/state" && t.sent[3].json == ["stateTo": "TRASH"])
    }

    @Test func referencedRoomsAreReadToTheLastPage() async throws {
        let full = JSONValue.array((0..<200).map { ["bandyerRoomId": .string("r\($0)")] })
        let t = RecordedTransport(json: [(200, full), (200, [["bandyerRoomId": "r200"]])])
        let found = try await store(t).referencedRooms((0...200).map { "r\($0)" }, context: context())
        #expect(found.count == 201 && t.sent.count == 2)
        #expect(t.sent[0].query("_sk") == "0" && t.sent[1].query("_sk") == "200" && t.sent[1].query("_l") == "200")
    }

    @Test func mappingsFindTodaysAndLegacyNamesOldestFirst() async throws {
        let answer: JSONValue = [
            ["_id": "bbbbbbbbbbbbbbbbbbbbbbbb", "receivedUserId": "u", "bandyerId": "b2", "role": "plus", "createdAt": "2026-01-02T00:00:00.000Z"],
            ["_id": "aaaaaaaaaaaaaaaaaaaaaaaa", "auth0Id": "u", "bandyerId": "b1", "createdAt": "2026-01-01T00:00:00.000Z"],
            ["_id": "cccccccccccccccccccccccc", "receivedUserId": "someone-else", "bandyerId": "b3"],
            ["_id": "dddddddddddddddddddddddd", "receivedUserId": "u", "bandyerId": "../x"],
        ]
        let t = RecordedTransport(json: [(200, answer), (200, [:])])
        let s = store(t)
        let found = try await s.mappings(externalId: "u", context: context())
        #expect(found.map(\.bandyerId) == ["b1", "b2"] && found.map(\.isLegacy) == [true, false] && found.map(\.role) == [.basic, .plus])
        #expect(try JSONParser.parse(t.sent[0].query("_q") ?? "") == ["$or": [["receivedUserId": "u"], ["auth0Id": "u"]]])
        try await s.repoint(found[0], bandyerId: "b9", role: .plus, context: context())
        #expect(t.sent[1].url == "http://crud/teleconsultation-users/aaaaaaaaaaaaaaaaaaaaaaaa")
        #expect(t.sent[1].json == ["$set": ["bandyerId": "b9", "role": "plus", "receivedUserId": "u"], "$unset": ["auth0Id": true]])
    }

    @Test func anUnexpectedAnswerIsLoggedAtWarnWithItsStatusAndLengthButNeverItsBody() async throws {
        let lines = Lines()
        let body = #"{"statusCode":400,"error":"Bad Request","message":"body must NOT have additional properties: colour, fullName Jane Roe, cookie was sid=SECRET-COOKIE"}"#
        let t = RecordedTransport([.success(UpstreamAnswer(status: 400, body: Array(body.utf8)))])
        await #expect(throws: UpstreamError(upstream: "crud", operation: "update", kind: .status(400))) {
            _ = try await store(t).replace(Teleconsultation(id: Self.id, startDate: Timestamp(milliseconds: 0), endDate: Timestamp(milliseconds: 1),
                                                            participantsNumber: 2, participants: []),
                                           ifVersion: 1, context: context(lines.logger, proxied: [("cookie", "sid=SECRET-COOKIE")]))
        }
        let line = try #require(lines.all.first)
        #expect(line.hasPrefix("warning upstream answered outside the contract") && line.contains("status=400"), "\(line)")
        #expect(line.contains("bodyLength=\(body.utf8.count)") && line.contains("upstream=crud") && line.contains("operation=update"), "\(line)")
        #expect(!line.contains("colour") && !line.contains("Jane Roe") && !line.contains("SECRET-COOKIE"), "\(line)")
    }
}
