import ArgumentParser
import Foundation
import JobStore

/// `khata keys`: the API keys, kept hashed in the job store.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        discussion: """
            A key is shown once, when it is created; only its SHA-256 digest is stored. Clients send \
            it as Authorization: Bearer KEY. Scopes: post (transfers, reservations), read, finance \
            (refunds, reports), admin (everything).
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    static func keys(_ global: GlobalOptions) async throws -> APIKeys {
        let (settings, _) = try await global.load(label: "khata.keys")
        return APIKeys(database: try await settings.openJobDatabase())
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it (once).")

        @OptionGroup var global: GlobalOptions

        @Option(help: "A scope the key has: post, read, finance or admin (repeat for several).")
        var scope: [Scope]

        @Option(help: "What the key is for, shown by keys list.")
        var name = ""

        @Flag(help: "Print JSON: {\"key\": …, \"id\": …, \"scopes\": […]}.")
        var json = false

        func validate() throws {
            guard !scope.isEmpty else { throw ValidationError("give at least one --scope") }
        }

        func run() async throws {
            let (key, info) = try await KeysCommand.keys(global).create(name: name, scopes: Set(scope))
            if json {
                print(
                    LedgerSession.jsonLine([
                        "key": key, "id": info.id, "scopes": info.scopes.sorted().map(\.rawValue), "name": name,
                    ]))
            } else {
                print(key)
                FileHandle.standardError.write(
                    Data("key \(info.id) created; it is shown only now, so store it safely\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print one JSON object per key.")
        var json = false

        func run() async throws {
            for info in try await KeysCommand.keys(global).list() {
                let scopes = info.scopes.sorted().map(\.rawValue)
                if json {
                    var object: [String: Any] = [
                        "id": info.id, "name": info.name, "scopes": scopes, "createdAt": info.createdAt,
                    ]
                    object["revokedAt"] = info.revokedAt
                    print(LedgerSession.jsonLine(object))
                } else {
                    let state = info.revokedAt.map { "revoked \($0)" } ?? "active"
                    print("\(info.id)  \(scopes.joined(separator: ","))  \(info.createdAt)  \(state)  \(info.name)")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its id.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The key's id, as keys list shows it (e.g. k3f9a1c2e7b40).")
        var id: String

        func run() async throws {
            guard try await KeysCommand.keys(global).revoke(id: id) else {
                throw CommandFailure("no active key has the id \(id)")
            }
            print("revoked \(id)")
        }
    }
}

extension Scope: ExpressibleByArgument {}
