import HTTPTypes
import Logging
import Responder
import StrictJSON
import TeleconsultationPorts
import Testing
@testable import TeleconsultationDomain
@testable import TeleconsultationService

@Suite struct ApplicationTests {
    struct Boom: Error {}

    func app(logs: LogRecorder = LogRecorder(), extra: (inout Router<Handler>) -> Void = { _ in }) -> Application {
        var router = Router<Handler>()
        PlatformRoutes.register(in: &router, readiness: Readiness(), metrics: ServiceMetrics(), openAPI: ["openapi": "3.0.3"])
        extra(&router)
        return Application(routes: router, basePath: "/api/v1/telecons-be", requestTimeout: .seconds(1), logger: logs.logger, metrics: ServiceMetrics())
    }

    func request(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:]) -> Request {
        Request(head: HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: headers))
    }

    func json(_ r: Response) throws -> JSONValue { try JSONParser.parse(r.body) }

    @Test func answersAtTheRootAndUnderTheBasePath() async throws {
        let a = app()
        for path in ["/-/healthz", "/api/v1/telecons-be/-/healthz"] {
            let r = await a.respond(to: request(.get, path))
            #expect(r.status == .ok)
            #expect(try json(r) == ["status": "OK", "name": "teleconsultation-backend", "version": .string(BuildInfo.version)])
        }
        #expect(await a.respond(to: request(.get, "/api/v1/telecons-be-x/-/healthz")).status == .notFound)
    }

    @Test func unknownRouteIsA404InTheErrorShape() async throws {
        let r = await app().respond(to: request(.get, "/nope"))
        #expect(r.status == .notFound)
        #expect(try json(r) == ["statusCode": 404, "error": "Not Found", "message": "Route GET:/nope not found"])
    }

    @Test func wrongMethodIsA405WithAllow() async throws {
        let r = await app().respond(to: request(.post, "/-/healthz"))
        #expect(r.status == .methodNotAllowed)
        #expect(r.head.headerFields[.allow] == "GET")
        #expect(try json(r)["error"] == "Method Not Allowed")
    }

    @Test func unexpectedErrorIsALogged500WithoutDetail() async throws {
        let logs = LogRecorder()
        let a = app(logs: logs) { $0.add(.get, "/boom") { _ in throw Boom() } }
        var headers = HTTPFields()
        headers[HTTPField.Name("x-request-id")!] = "req-42"
        let r = await a.respond(to: request(.get, "/boom", headers: headers))
        #expect(r.status == .internalServerError)
        #expect(try json(r) == ["statusCode": 500, "error": "Internal Server Error", "message": "An unexpected error occurred"])
        #expect(r.head.headerFields[HTTPField.Name("x-request-id")!] == "req-42")
        #expect(logs.text.contains(#""reqId":"req-42""#) && logs.text.contains("Boom"))
    }

    @Test func upstreamFailuresMapTo502And504() {
        let timeout = UpstreamError(upstream: "bandyer", operation: "create room", kind: .timeout)
        let status = UpstreamError(upstream: "crud", operation: "read", kind: .status(500))
        #expect(ErrorMapper.apiError(for: timeout)?.status == .gatewayTimeout)
        #expect(ErrorMapper.apiError(for: status)?.status == .badGateway)
        #expect(ErrorMapper.apiError(for: ValidationError("body/x must be string")) == .badRequest("body/x must be string"))
    }

    @Test func healthRoutesAreLoggedOnlyWhenTheyFail() async {
        let logs = LogRecorder()
        let a = app(logs: logs)
        _ = await a.respond(to: request(.get, "/-/healthz"))
        #expect(!logs.text.contains("request completed"))
        _ = await a.respond(to: request(.get, "/nope"))
        #expect(logs.text.contains(#""statusCode":404"#) && logs.text.contains(#""route":"unmatched""#))
    }

    @Test func readinessTurns503WhileDraining() async throws {
        var router = Router<Handler>()
        let readiness = Readiness()
        PlatformRoutes.register(in: &router, readiness: readiness, metrics: ServiceMetrics(), openAPI: [:])
        let a = Application(routes: router, basePath: "", requestTimeout: .seconds(1), logger: LogRecorder().logger, metrics: ServiceMetrics())
        #expect(await a.respond(to: request(.get, "/-/ready")).status == .ok)
        readiness.startDraining()
        let r = await a.respond(to: request(.get, "/-/check-up"))
        #expect(r.status == .serviceUnavailable)
        #expect(try json(r)["status"] == "KO")
        #expect(await a.respond(to: request(.get, "/-/healthz")).status == .ok)
    }

    @Test func routerDecodesParametersAndKeepsTrailingSlashesDistinct() {
        var router = Router<Int>()
        router.add(.get, "/teleconsultation/:roomId", 1)
        router.add(.post, "/teleconsultation/:roomId/participants/data", 2)
        if case .found(let r, let p) = router.match(method: .get, path: "/teleconsultation/a%2Fb") {
            #expect(r.handler == 1 && p["roomId"] == "a/b")
        } else { Issue.record("no match") }
        if case .notFound = router.match(method: .get, path: "/teleconsultation/") {} else { Issue.record("matched an empty id") }
        if case .methodNotAllowed(let allowed) = router.match(method: .delete, path: "/teleconsultation/x/participants/data") {
            #expect(allowed == [.post])
        } else { Issue.record("expected 405") }
        // Segments are what lies between slashes: none is skipped, merged or invented.
        for path in ["/teleconsultation/x/", "/teleconsultation//participants/data", "//teleconsultation/x", "/teleconsultation",
                     "teleconsultation/x", "", "/", "/teleconsultation/x/participants/data/"] {
            if case .found = router.match(method: .get, path: path[...]) { Issue.record("\(path) matched") }
            if case .found = router.match(method: .post, path: path[...]) { Issue.record("\(path) matched") }
        }
        if case .found(_, let p) = router.match(method: .post, path: "/teleconsultation/x%20y/participants/data") {
            #expect(p == ["roomId": "x y"])
        } else { Issue.record("no match") }
        if case .found(_, let p) = router.match(method: .get, path: "x/teleconsultation/y") {
            // What comes before the first slash is not a segment (request paths always start with one).
            #expect(p == ["roomId": "y"])
        } else { Issue.record("no match") }
    }

    @Test func roomIdsMustBe24LowercaseHex() {
        #expect(Identifiers.isCRUDId("0123456789abcdef01234567"))
        for bad in ["0123456789ABCDEF01234567", "0123456789abcdef012345678", "../", "%2F", #"{"$ne":1}"#, ""] {
            #expect(!Identifiers.isCRUDId(bad))
        }
    }

    @Test func openAPIDocumentDescribesEveryRoute() throws {
        let doc = OpenAPIDocument.make(basePath: "/api/v1/telecons-be", mode: .standalone)
        let world = World()
        let router = ServiceRoutes.make(useCases: world.useCases, identity: nil, readiness: Readiness(), metrics: ServiceMetrics(),
                                        configuration: try Configuration.load(environment: ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://b"]))
        let paths = try #require(doc["paths"]?.objectValue)
        for route in router.routes {
            let path = route.template.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            #expect(paths["/" + path]?[route.method.rawValue.lowercased()] != nil, "\(route.method) \(route.template) is undocumented")
        }
        var documented = 0
        for m in paths.members { documented += m.value.objectValue!.keys.filter { $0 != "parameters" }.count }
        #expect(documented == router.routes.count)
    }
}
