import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Testing

/// The job routes through a live server.
@Suite("Job routes")
struct JobRoutesTests {
    @Test("jobs are listed, run by hand by an admin, and their runs read back")
    func jobs() async throws {
        try await TestServer.with { server in
            let client = server.client
            try await client.execute(uri: "/v1/jobs", method: .get) { response in
                #expect(response.status == .ok)
                let jobs = try #require(try APITests.object(response)["jobs"] as? [[String: Any]])
                #expect(jobs.map { $0["name"] as? String } == ["count"])
                #expect(jobs.first?["timeZone"] as? String == "Asia/Dhaka" && jobs.first?["lastRun"] == nil)
            }
            try await client.execute(uri: "/v1/jobs/count/run", method: .post) { response in
                #expect(response.status == .ok)
                let run = try APITests.object(response)
                #expect(run["outcome"] as? String == "succeeded" && run["trigger"] as? String == "manual")
                #expect(run["read"] as? Int == 3 && run["written"] as? Int == 2)
            }
            try await client.execute(uri: "/v1/jobs/nothing/run", method: .post) { response in
                #expect(response.status == .notFound)
                let type = try APITests.problemType(response)
                #expect(type == "/problems/job-not-found")
            }
            let (reader, _) = try await server.keys.create(name: "reader", scopes: [.read])
            try await client.execute(
                uri: "/v1/jobs/count/run", method: .post, headers: [.authorization: "Bearer \(reader)"]
            ) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/v1/jobs/runs?job=count&limit=10", method: .get) { response in
                let runs = try #require(try APITests.object(response)["runs"] as? [[String: Any]])
                #expect(runs.count == 1 && runs.first?["job"] as? String == "count")
            }
            try await client.execute(uri: "/v1/jobs/runs?limit=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/jobs", method: .get) { response in
                let jobs = try #require(try APITests.object(response)["jobs"] as? [[String: Any]])
                let last = jobs.first?["lastRun"] as? [String: Any]
                #expect(last?["outcome"] as? String == "succeeded")
            }
        }
    }
}
