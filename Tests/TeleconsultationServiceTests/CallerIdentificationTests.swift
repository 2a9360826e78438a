import HTTPTypes
import Testing
@testable import TeleconsultationDomain
@testable import TeleconsultationService

/// `userIdPathInRequest` walks `{"headers", "query", "params"}`; only the value its first two
/// steps name is looked up.
@Suite struct CallerIdentificationTests {
    var headers: HTTPFields {
        var h = HTTPFields()
        h.append(HTTPField(name: HTTPField.Name("MiaUserId")!, value: "first"))
        h.append(HTTPField(name: HTTPField.Name("miauserid")!, value: "second"))
        h.append(HTTPField(name: HTTPField.Name("miauserproperties")!, value: #"{"id":"from-json","ids":["a","b"],"n":42}"#))
        return h
    }
    let query = ["user": "q-user", "empty": ""]
    let parameters = ["roomId": "p-room"]

    func locate(_ steps: [CallerLocator.Step]) -> String? {
        CallerIdentification.locate(steps, headers: headers, query: { query[$0] }, parameters: parameters)
    }

    @Test func theSectionsAndTheirFirstValue() {
        #expect(locate([.object("headers"), .object("miauserid")]) == "first")
        #expect(locate([.object("query"), .object("user")]) == "q-user")
        #expect(locate([.object("params"), .object("roomId")]) == "p-room")
    }

    @Test func headerNamesAreMatchedInLowerCaseOnly() {
        #expect(locate([.object("headers"), .object("MiaUserId")]) == nil)
    }

    @Test func furtherStepsWalkTheValue() {
        #expect(locate([.object("headers"), .object("miauserproperties"), .json("id")]) == "from-json")
        #expect(locate([.object("headers"), .object("miauserproperties"), .json("ids"), .array(1)]) == "b")
        #expect(locate([.object("headers"), .object("miauserproperties"), .json("n")]) == "42")
        #expect(locate([.object("headers"), .object("miauserproperties"), .json("missing")]) == nil)
        #expect(locate([.object("headers"), .object("miauserid"), .object("x")]) == nil)
    }

    @Test func pathsThatEndOnAnObjectOrMissNothingFindNothing() {
        #expect(locate([]) == nil)
        #expect(locate([.object("headers")]) == nil)
        #expect(locate([.object("cookies"), .object("miauserid")]) == nil)
        #expect(locate([.json("headers"), .object("miauserid")]) == nil)
        #expect(locate([.object("headers"), .array(0)]) == nil)
        #expect(locate([.object("query"), .object("empty")]) == nil)
        #expect(locate([.object("query"), .object("absent")]) == nil)
    }
}
