import StrictJSON
import Testing
@testable import TeleconsultationDomain

@Suite struct BodyValidatorTests {
    func create(_ json: String, _ mode: OperatingMode = .standalone) throws(ValidationError) -> TeleconsultationInput {
        try BodyValidator.creation(try BodyValidator.parse(Array(json.utf8)), mode: mode)
    }

    func message(_ json: String, _ mode: OperatingMode = .standalone) -> String? {
        do { _ = try create(json, mode); return nil } catch { return error.message }
    }

    static let dates = #""start_date":"2026-06-01T10:00:00.000Z","end_date":"2026-06-01T11:00:00Z""#
    static let doctor = #"{"userExternalId":"d","groups":["doctor"],"fullName":"Dr D","language":"it"}"#

    @Test func acceptsAStandaloneBody() throws {
        let input = try create(#"{"participants":{"number":2,"data":[\#(Self.doctor)]},\#(Self.dates)}"#)
        #expect(input.participants == TeleconsultationInput.Participants(number: 2, data: [ParticipantInput(userExternalId: "d", groups: ["doctor"], fullName: "Dr D", language: "it")]))
        #expect(input.endDate == Timestamp(iso: "2026-06-01T11:00:00.000Z"))
    }

    @Test(arguments: [
        (#"{"userExternalId":"d\u0000","groups":["doctor"],"fullName":"D"}"#, "body/participants/data/0/userExternalId"),
        (#"{"userId":"d\n","groups":["doctor"],"fullName":"D"}"#, "body/participants/data/0/userId"),
        (#"{"userExternalId":"d","groups":["doc\ttor"],"fullName":"D"}"#, "body/participants/data/0/groups/0"),
        (#"{"userExternalId":"d","group":"doc\u001f","fullName":"D"}"#, "body/participants/data/0/group"),
        (#"{"userExternalId":"d","groups":["doctor"],"fullName":"D\r\nX-Injected: 1"}"#, "body/participants/data/0/fullName"),
        (#"{"userExternalId":"d","groups":["doctor"],"fullName":"D","language":"it\u007f"}"#, "body/participants/data/0/language"),
    ])
    func controlCharactersAreRefusedNamingTheField(_ participant: String, _ field: String) {
        #expect(message(#"{"participants":{"number":2,"data":[\#(participant)]},\#(Self.dates)}"#) == "\(field) must NOT contain control characters")
    }

    @Test func controlCharactersAreRefusedInTheLaterRoutesToo() throws {
        #expect(throws: ValidationError("body/background_alias must NOT contain control characters")) {
            try BodyValidator.settingsUpdate(try BodyValidator.parse(Array(#"{"background_alias":"a\u0007"}"#.utf8)))
        }
        #expect(throws: ValidationError("body/participants/0 must NOT contain control characters")) {
            try create(#"{"participants":["a\u0000b","c"],\#(Self.dates)}"#, .auth0)
        }
        // Ordinary text passes.
        #expect(throws: Never.self) { try create(#"{"participants":{"number":2,"data":[\#(Self.doctor)]},\#(Self.dates)}"#) }
    }

    @Test func messagesQuoteAShortPrefixOfTheCallersInput() {
        let key = String(repeating: "k", count: 4096)
        let refused = message(#"{"participants":{"number":2,"data":[\#(Self.doctor)]},\#(Self.dates),"\#(key)":1}"#)
        #expect(refused == "body must NOT have additional property '\(String(repeating: "k", count: 64))…(4096 bytes)'")
        let nested = message(#"{"participants":{"number":2,"data":[{"userExternalId":"d","groups":["doctor"],"fullName":"D","\#(key)":1}]},\#(Self.dates)}"#)
        #expect((nested?.utf8.count ?? 0) < 200, "\(nested ?? "")")
        #expect(ValidationError.excerpt("a\u{0}b") == "a\\u0000b")
    }

    @Test func acceptsOlderAndNewerFieldNames() throws {
        let input = try create(#"{"participants":{"number":2,"data":[{"userId":"d","group":"doctor","fullName":"D"}]},\#(Self.dates)}"#)
        #expect(input.participants?.data.first == ParticipantInput(userExternalId: "d", groups: ["doctor"], fullName: "D"))
    }

    @Test func auth0AcceptsAnArrayOfIds() throws {
        let input = try create(#"{"participants":["a","b","c"],\#(Self.dates)}"#, .auth0)
        #expect(input.participants?.number == 3)
        #expect(input.participants?.data.map(\.userExternalId) == ["a", "b", "c"])
    }

    @Test(arguments: [
        (#"[]"#, "body must be object"),
        (#""#, "body must be object"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z"}"#, "body must have required property 'end_date' or 'duration_in_seconds'"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","end_date":"2026-06-01T11:00:00.000Z","duration_in_seconds":600}"#, "body must NOT have both 'end_date' and 'duration_in_seconds'"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","duration_in_seconds":299}"#, "body/duration_in_seconds must be >= 300"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","duration_in_seconds":86401}"#, "body/duration_in_seconds must be <= 86400"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","duration_in_seconds":"600"}"#, "body/duration_in_seconds must be integer"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","duration_in_seconds":600.5}"#, "body/duration_in_seconds must be integer"),
        (#"{"participants":{"number":1,"data":[]},\#(dates)}"#, "body/participants/number must be >= 2"),
        (#"{"participants":{"number":26,"data":[]},\#(dates)}"#, "body/participants/number must be <= 25"),
        (#"{"participants":{"number":2.5,"data":[]},\#(dates)}"#, "body/participants/number must be integer"),
        (#"{"participants":{"number":"2","data":[]},\#(dates)}"#, "body/participants/number must be integer"),
        (#"{"participants":{"number":2,"data":[]},\#(dates),"extra":1}"#, "body must NOT have additional property 'extra'"),
        (#"{"participants":{"number":2,"data":[],"x":1},\#(dates)}"#, "body/participants must NOT have additional property 'x'"),
        (#"{"participants":{"number":2,"data":[\#(doctor),\#(doctor)]},\#(dates)}"#, "body/participants/data/1/userExternalId must be unique: participant d appears twice"),
        (#"{"participants":{"number":2,"data":[\#(doctor),\#(doctor),\#(doctor)]},\#(dates)}"#, "body/participants/data must NOT have more than 2 items (body/participants/number)"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","fullName":"D"}]},\#(dates)}"#, "body/participants/data/0 must have required property 'groups'"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","groups":[]," fullName":"D"}]},\#(dates)}"#, "body/participants/data/0 must NOT have additional property ' fullName'"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","groups":[],"fullName":"D"}]},\#(dates)}"#, "body/participants/data/0/groups must NOT have fewer than 1 items"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","groups":["doctor"]}]},\#(dates)}"#, "body/participants/data/0 must have required property 'fullName'"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","userId":"e","groups":["doctor"],"fullName":"D"}]},\#(dates)}"#, "body/participants/data/0 must have only one of 'userExternalId' and 'userId'"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":"d","groups":["doctor"],"group":"doctor","fullName":"D"}]},\#(dates)}"#, "body/participants/data/0 must have only one of 'groups' and 'group'"),
        (#"{"participants":{"number":2,"data":[{"userExternalId":5,"groups":["doctor"],"fullName":"D"}]},\#(dates)}"#, "body/participants/data/0/userExternalId must be string"),
        (#"{"participants":["a","b"],\#(dates)}"#, "body/participants must be object (an array of user ids needs auth0 mode)"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-02-30T10:00:00.000Z","end_date":"2026-03-01T10:00:00.000Z"}"#, "body/start_date must be a valid date-time YYYY-MM-DDTHH:mm:ss.sssZ"),
        (#"{"participants":{"number":2,"data":[]},"start_date":"2026-06-01T10:00:00.000Z","end_date":"2026-06-01T10:00:00.000Z"}"#, "body/end_date must be after body/start_date"),
        (#"{"participants":{"number":2,"number":3,"data":[]},\#(dates)}"#, "body/participants must NOT have duplicate key 'number'"),
        (#"{"participants":"#, "body is not valid JSON: unexpected end of input at offset 16"),
    ])
    func refusesWithAMessageNamingTheField(_ json: String, _ expected: String) {
        #expect(message(json) == expected)
    }

    @Test func auth0ModeRefusesGroupsAndNames() {
        #expect(message(#"{"participants":{"number":2,"data":[\#(Self.doctor)]},\#(Self.dates)}"#, .auth0)
            == "body/participants/data/0/groups is not allowed in auth0 mode: it comes from auth0-client")
        #expect(message(#"{"participants":["a"],\#(Self.dates)}"#, .auth0) == "body/participants must NOT have fewer than 2 items")
    }

    @Test func deepNestingIsA400NotACrash() {
        let deep = #"{"participants":"# + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        #expect(message(deep) == "body must NOT be nested deeper than 64 levels")
    }

    @Test func updateNeedsAtLeastOneField() throws {
        #expect(throws: ValidationError("body must have at least one of 'participants', 'start_date', 'end_date', 'duration_in_seconds'")) {
            try BodyValidator.update(try BodyValidator.parse(Array("{}".utf8)), mode: .standalone)
        }
        let input = try BodyValidator.update(try BodyValidator.parse(Array(#"{"end_date":"2026-06-01T11:00:00Z"}"#.utf8)), mode: .standalone)
        #expect(input.participants == nil && input.startDate == nil && input.endDate != nil)
    }

    @Test func durationInSecondsSetsTheEndFromTheStart() throws {
        let input = try create(#"{"participants":{"number":2,"data":[\#(Self.doctor)]},"start_date":"2026-06-01T10:00:00.000Z","duration_in_seconds":300}"#)
        #expect(input.durationSeconds == 300 && input.endDate == nil)
        let dates = try #require(Schedule.dates(creating: input))
        #expect(dates.end == Timestamp(iso: "2026-06-01T10:05:00.000Z"))
        let patch = try BodyValidator.update(try BodyValidator.parse(Array(#"{"duration_in_seconds":86400}"#.utf8)), mode: .standalone)
        #expect(patch.durationSeconds == 86_400 && patch.movesDates)
    }

    @Test func participantBodyHasTheSameItemRules() throws {
        let p = try BodyValidator.participant(try BodyValidator.parse(Array(#"{"userExternalId":"x","language":"en"}"#.utf8)), mode: .auth0)
        #expect(p == ParticipantInput(userExternalId: "x", language: "en"))
        #expect(throws: ValidationError("body must have required property 'userExternalId'")) {
            try BodyValidator.participant(try BodyValidator.parse(Array(#"{"language":"en"}"#.utf8)), mode: .auth0)
        }
    }

    @Test func longAndOddExternalIdsAreKeptExactly() throws {
        let id = #"a"$ne{}é😀"# + String(repeating: "x", count: 2040)
        let body: JSONValue = ["userExternalId": .string(id), "groups": ["doctor"], "fullName": "D"]
        #expect(try BodyValidator.participant(body, mode: .standalone).userExternalId == id)
    }

    @Test func aBodyIsRefusedAtItsFirstUnknownKeyAndPastAThousandMembers() {
        // The unknown key is named as the route's validation names it, even with the rest unread.
        #expect(throws: ValidationError("body must NOT have additional property 'k0'")) {
            try BodyValidator.parse(Array(#"{"start_date":"x","k0":0,"k1":"#.utf8), rootKeys: BodyValidator.creationKeys)
        }
        // A body nested too deep under an unknown key is refused for its depth.
        let deep = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(throws: ValidationError("body must NOT be nested deeper than 64 levels")) {
            try BodyValidator.parse(Array(deep.utf8), rootKeys: BodyValidator.creationKeys)
        }
        let many = "[" + (0...1000).map { _ in "1" }.joined(separator: ",") + "]"
        #expect(throws: ValidationError("body/participants/data must NOT have more than 1000 items")) {
            try BodyValidator.parse(Array(#"{"participants":{"number":2,"data":\#(many)}}"#.utf8), rootKeys: BodyValidator.creationKeys)
        }
    }
}
