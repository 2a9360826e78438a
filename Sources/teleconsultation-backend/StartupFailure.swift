import Foundation
import Glibc
import StrictJSON
import TeleconsultationService

/// A start-up failure: one JSON line at level 60 on standard error, whatever LOG_LEVEL says.
enum StartupFailure {
    static func exit(key: String, reason: String) -> Never {
        var line = "{\"level\":60,\"time\":\(Int64(Date().timeIntervalSince1970 * 1000)),\"pid\":\(getpid()),\"msg\":"
        line += jsonString("start-up refused: \(key): \(reason)")
        line += ",\"key\":" + jsonString(key) + ",\"reason\":" + jsonString(reason) + "}\n"
        JSONLogHandler.standardError(Array(line.utf8))
        Glibc.exit(1)
    }

    private static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        JSONValue.writeString(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
