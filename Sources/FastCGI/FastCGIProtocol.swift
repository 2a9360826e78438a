import CFastCGI

/// The FastCGI protocol's definitions, from libfcgi's `fastcgi.h`.
///
/// Why not libfcgi itself: its public API (`FCGX_Accept_r`, `FCGX_GetStr`, `FCGX_PutStr`,
/// `FCGX_Finish_r`) does blocking reads and writes on descriptors it owns, one request per
/// thread. This transport runs on SwiftNIO's event loops, where no call may block, and serves
/// many requests per thread, so it frames the records itself (`FastCGIRecordDecoder`,
/// `FastCGIRecords`) and takes from libfcgi only what fits: the protocol's record types,
/// roles, flags and status codes, from its header (so the binary does not link libfcgi).
/// libfcgi's own client (`cgi-fcgi`) and nginx are what the tests talk to it with.
enum FastCGIProtocol {
    static let version = UInt8(FCGI_VERSION_1)
    static let headerLength = Int(FCGI_HEADER_LEN)

    enum RecordType: UInt8 {
        case beginRequest = 1, abortRequest, endRequest, params, stdin, stdout, stderr, data, getValues, getValuesResult, unknownType

        init?(_ raw: UInt8) {
            switch Int32(raw) {
            case FCGI_BEGIN_REQUEST: self = .beginRequest
            case FCGI_ABORT_REQUEST: self = .abortRequest
            case FCGI_END_REQUEST: self = .endRequest
            case FCGI_PARAMS: self = .params
            case FCGI_STDIN: self = .stdin
            case FCGI_STDOUT: self = .stdout
            case FCGI_STDERR: self = .stderr
            case FCGI_DATA: self = .data
            case FCGI_GET_VALUES: self = .getValues
            case FCGI_GET_VALUES_RESULT: self = .getValuesResult
            case FCGI_UNKNOWN_TYPE: self = .unknownType
            default: return nil
            }
        }
    }

    static let responderRole = UInt16(FCGI_RESPONDER)
    static let keepConnectionFlag = UInt8(FCGI_KEEP_CONN)
    static let nullRequestId = UInt16(FCGI_NULL_REQUEST_ID)

    /// END_REQUEST's protocol status.
    enum ProtocolStatus: UInt8 {
        case requestComplete = 0, cantMultiplexConnections, overloaded, unknownRole

        var raw: UInt8 {
            switch self {
            case .requestComplete: return UInt8(FCGI_REQUEST_COMPLETE)
            case .cantMultiplexConnections: return UInt8(FCGI_CANT_MPX_CONN)
            case .overloaded: return UInt8(FCGI_OVERLOADED)
            case .unknownRole: return UInt8(FCGI_UNKNOWN_ROLE)
            }
        }
    }

    static let maxConnsName = FCGI_MAX_CONNS
    static let maxReqsName = FCGI_MAX_REQS
    static let mpxsConnsName = FCGI_MPXS_CONNS
}
