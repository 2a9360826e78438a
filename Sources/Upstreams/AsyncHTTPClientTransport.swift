import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The production transport: one shared AsyncHTTPClient for every upstream.
public final class AsyncHTTPClientTransport: HTTPTransport {
    public let client: HTTPClient
    static let maxAnswerBytes = 4 << 20

    public init(maxConnectionsPerHost: Int = 256) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnectionsPerHost)
        // A refused connection is an answer (502 at once), not a reason to retry until the deadline (504).
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.timeout = .init(connect: .seconds(5))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the pooled connections (after the requests in flight are done).
    public func shutdown() async throws {
        try await client.shutdown()
    }

    public func send(_ request: UpstreamRequest, timeout: Duration) async throws(TransportError) -> UpstreamAnswer {
        var r = HTTPClientRequest(url: request.url)
        r.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { r.headers.add(name: name, value: value) }
        switch request.body {
        case .json(let value)?:
            r.headers.add(name: "content-type", value: "application/json")
            r.body = .bytes(ByteBuffer(bytes: value.jsonBytes))
        case .bytes(let buffer, let contentType)?:
            r.headers.add(name: "content-type", value: contentType)
            r.body = .bytes(buffer)
        case nil:
            break
        }
        let nanos = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        do {
            let response = try await client.execute(r, deadline: .now() + .nanoseconds(nanos))
            var buffer = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return UpstreamAnswer(status: Int(response.status.code), body: buffer.readBytes(length: buffer.readableBytes) ?? [])
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch is CancellationError {
            throw .timeout
        } catch is NIOTooManyBytesError {
            throw .bodyTooLarge
        } catch {
            throw .unreachable(String(describing: error))
        }
    }
}
