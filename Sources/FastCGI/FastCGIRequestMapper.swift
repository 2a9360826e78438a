import HTTPTypes
import Responder

/// Turns FastCGI params (as libfcgi hands them over) into a request head. Pure: no libfcgi,
/// so it is unit-tested directly.
public enum FastCGIRequestMapper {
    public enum MappingError: Error, Equatable, Sendable {
        case missingMethod
        case invalidMethod(String)
        case invalidURI(String)
    }

    /// Builds the request head from `NAME=VALUE` params.
    ///
    /// Method from `REQUEST_METHOD`; path and query from `REQUEST_URI` (falling back to
    /// `SCRIPT_NAME` + `PATH_INFO` + `QUERY_STRING` for servers that do not send it);
    /// headers from `HTTP_*`, `CONTENT_TYPE` and `CONTENT_LENGTH`.
    public static func makeHead(params: [(name: String, value: String)]) throws(MappingError) -> HTTPRequest {
        var method: String?
        var requestURI: String?
        var scriptName = ""
        var pathInfo = ""
        var queryString = ""
        var fields = HTTPFields()
        fields.reserveCapacity(params.count)
        for (name, value) in params {
            if name.hasPrefix("HTTP_") {
                guard let fieldName = headerName(fromParam: name) else { continue }
                // HTTP_CONTENT_TYPE / HTTP_CONTENT_LENGTH duplicate the CGI variables.
                if fieldName == .contentType || fieldName == .contentLength { continue }
                fields.append(HTTPField(name: fieldName, value: value))
                continue
            }
            switch name {
            case "REQUEST_METHOD": method = value
            case "REQUEST_URI": requestURI = value
            case "SCRIPT_NAME": scriptName = value
            case "PATH_INFO": pathInfo = value
            case "QUERY_STRING": queryString = value
            // A later param replaces an earlier one, and an empty one means none: nginx sends
            // both when a location sets `fastcgi_param CONTENT_LENGTH ""` after including
            // fastcgi_params, and the first (the client's length) must not win.
            case "CONTENT_TYPE": fields[.contentType] = value.isEmpty ? nil : value
            case "CONTENT_LENGTH": fields[.contentLength] = value.isEmpty ? nil : value
            default: continue
            }
        }
        guard let method else { throw .missingMethod }
        guard let httpMethod = HTTPRequest.Method(method) else { throw .invalidMethod(method) }
        var path: String
        if let requestURI, !requestURI.isEmpty {
            path = requestURI
        } else {
            path = scriptName + pathInfo
            if !queryString.isEmpty { path += "?" + queryString }
        }
        guard path.hasPrefix("/") else { throw .invalidURI(path) }
        return HTTPRequest(method: httpMethod, scheme: nil, authority: nil, path: path, headerFields: fields)
    }

    static let mappedNames: [[UInt8]] = ["REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
                                         "CONTENT_TYPE", "CONTENT_LENGTH"].map { Array($0.utf8) }

    /// Whether `makeHead` reads a param of this name (`HTTP_*` or one of `mappedNames`).
    static func isMapped(_ name: UnsafeRawBufferPointer) -> Bool {
        if name.count > 5, name[0] == UInt8(ascii: "H"), name[1] == UInt8(ascii: "T"), name[2] == UInt8(ascii: "T"),
           name[3] == UInt8(ascii: "P"), name[4] == UInt8(ascii: "_") { return true }
        return mappedNames.contains { $0.count == name.count && $0.elementsEqual(name) }
    }

    /// `HTTP_X_REQUEST_ID` → `x-request-id`; nil for names that are not valid header names.
    static func headerName(fromParam param: String) -> HTTPField.Name? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(param.utf8.count - 5)
        for c in param.utf8.dropFirst(5) {
            switch c {
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "-"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(c + 32)
            default: bytes.append(c)
            }
        }
        return HTTPField.Name(String(decoding: bytes, as: UTF8.self))
    }
}
