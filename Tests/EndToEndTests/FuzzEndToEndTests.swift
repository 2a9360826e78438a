import Foundation
import Testing
extension EndToEnd {
    /// Schemathesis (PyPI) against `/documentation/json` through nginx: no 5xx, every answer
    /// (4xx included) as documented. Bounded: a fixed seed and number of examples.
    @Suite struct FuzzEndToEndTests {
        static let schemathesis = Paths.root + "/.build/venv/bin/schemathesis"

        @Test func schemathesisFindsNoServerErrorAndOnlyDocumentedAnswers() async throws {
            guard FileManager.default.isExecutableFile(atPath: Self.schemathesis) else {
                Issue.record("schemathesis is not installed in .build/venv: run `make test` (scripts/test.sh installs it)")
                return
            }
            try await withStack("fuzz", env: ["UPSTREAM_TIMEOUT_MS": "5000"]) { s in
                let (code, output) = try run(Self.schemathesis, [
                    "run", s.base + "/documentation/json",
                    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                    "--max-examples", "25", "--seed", "20261129", "--request-timeout", "10", "--no-shrink",
                    "--header", "miauserid: dr-who",
                ], env: ["NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""])
                let summary = output.split(separator: "\n").first { $0.contains(" generated, ") } ?? "no summary"
                print("schemathesis: \(summary.trimmingCharacters(in: .whitespaces))")
                #expect(code == 0, "schemathesis failed:\n\(output.suffix(4000))")
                #expect(summary.contains("passed") && !summary.contains("failed"))
                #expect(s.app?.isRunning == true)
                #expect(!(s.app?.stderr.contains(#""level":60"#) ?? true))
            }
        }
    }
}
