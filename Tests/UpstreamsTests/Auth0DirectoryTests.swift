import StrictJSON
import TeleconsultationPorts
import Testing
@testable import Upstreams

@Suite struct Auth0DirectoryTests {
    func directory(_ t: RecordedTransport, defaultClientType: String? = nil) -> Auth0UserDirectory {
        Auth0UserDirectory(http: UpstreamHTTP(transport: t), baseURL: "http://auth0", defaultClientType: defaultClientType,
                           clientTypeHeaderKey: "x-client", timeout: .seconds(2))
    }

    @Test func usersAreAskedInOneCallWithTheirGroupsWhereverTheyAre() async throws {
        let answer: JSONValue = [["user_id": "a", "name": "A", "groups": ["doctor"]], ["user_id": "b", "app_metadata": ["groups": ["patient"]]], ["name": "no id"]]
        let t = RecordedTransport(json: [(200, answer)])
        let users = try await directory(t, defaultClientType: "frontend").users(ids: ["a", "b"], context: context(proxied: [("cookie", "c"), ("x-client", "spoof")]))
        #expect(users == [DirectoryUser(userId: "a", name: "A", groups: ["doctor"]), DirectoryUser(userId: "b", name: nil, groups: ["patient"])])
        #expect(try JSONParser.parse(t.sent[0].query("_q") ?? "") == ["user_id": ["$in": ["a", "b"]]])
        #expect(t.sent[0].url.hasPrefix("http://auth0/users/?_q=") && t.sent[0].header("cookie") == ["c"])
        // The configured header carries the request's client type, else the default, else nothing.
        #expect(t.sent[0].header("x-client") == ["frontend"])
        let none = RecordedTransport(json: [(200, [])])
        _ = try await directory(none).users(ids: ["a"], context: context())
        #expect(none.sent[0].header("x-client").isEmpty)
    }

    @Test func currentUserIsNilWhenNotLoggedIn() async throws {
        let t = RecordedTransport(json: [(200, ["sub": "auth0|1", "name": "N", "groups": ["doctor"]]), (401, ["error": "Unauthorized"])])
        let d = directory(t)
        #expect(try await d.currentUser(context: context(proxied: [("authorization", "Bearer t")])) == DirectoryUser(userId: "auth0|1", name: "N", groups: ["doctor"]))
        #expect(t.sent[0].url == "http://auth0/userinfo" && t.sent[0].header("authorization") == ["Bearer t"])
        #expect(try await d.currentUser(context: context()) == nil)
    }
}
