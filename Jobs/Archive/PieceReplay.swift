import LedgerStorage

/// Reads one archive log file back into the log's groups, rebuilding each record and recomputing
/// its checksum, the commit record and the chain. Nothing is trusted until proven: the file's
/// hashes against the manifest, every count and length, and the chain after the last group
/// against the one the manifest (signed) states.
struct PieceReplay {
    /// The largest block a writer of this version makes (8,192 records plus one group of up to
    /// 65,536, none over 113 bytes), with room to spare.
    static let maximumBlockBytes = 16 << 20

    let path: String
    let file: ArchiveFile
    let piece: LogPiece

    /// Replays the file; `group` gets each rebuilt group as its bytes lie in the segment (data
    /// records then the commit record). `progress` gets decompressed bytes as they are done.
    func run(
        sealer: GroupSealer, group: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void,
        progress: (Int) -> Void = { _ in }
    ) throws(ArchiveError) {
        let reader = try CompressedFileReader(path: path)
        guard let header = try reader.next(16) else { throw reader.damage("the file is empty") }
        var expectedHeader = ArchiveExporter.streamMagic
        withUnsafeBytes(of: ArchiveExporter.streamVersion.littleEndian) { expectedHeader += $0 }
        expectedHeader += [0, 0, 0, 0]
        guard header.elementsEqual(expectedHeader) else {
            throw reader.damage("the stream does not start with a Khata archive header of version 1")
        }
        guard var chain = ChainHash(hex: piece.startChain), let endChain = ChainHash(hex: piece.endChain) else {
            throw ArchiveError(.damaged, "malformed chain hash in the manifest", path: path)
        }
        let decoder = LogColumnDecoder(expectedTransfers: piece.records.transfers)
        var next = piece.firstSequence
        var reported = 0
        while true {
            guard let length = try reader.varint() else {
                throw reader.damage("the stream ends without its last block")
            }
            if length == 0 { break }
            guard length <= UInt64(Self.maximumBlockBytes) else { throw reader.damage("a block of \(length) bytes") }
            let blockStart = reader.consumed
            // Safe: `next` returns exactly the bytes asked for, or nil at a clean end.
            guard let block = try reader.next(Int(length)) else {
                throw reader.damage("the stream ends inside a block")
            }
            var groupFailure: ArchiveError?
            do throws(ArchiveDamage) {
                try decoder.decodeBlock(block) { (records, count) throws(ArchiveDamage) in
                    guard next + UInt64(count) - 1 <= piece.lastSequence else {
                        throw ArchiveDamage("the file holds records past sequence \(piece.lastSequence)")
                    }
                    chain = sealer.sealGroup(records, count: count, firstSequence: next, after: chain)
                    next += UInt64(count)
                    do throws(ArchiveError) {
                        try group(UnsafeRawBufferPointer(start: records, count: (count + 1) * Format.recordSizeBytes))
                    } catch {
                        groupFailure = error
                        throw ArchiveDamage("")
                    }
                }
            } catch {
                if let groupFailure { throw groupFailure }
                throw ArchiveError(
                    .damaged, "\(error.reason) (block at decompressed offset \(blockStart))", path: path,
                    offset: reader.compressedOffset)
            }
            if reader.consumed - reported >= 1 << 22 {
                progress(reader.consumed - reported)
                reported = reader.consumed
            }
        }
        let digests = try reader.finish()
        progress(reader.consumed - reported)
        try Self.compare(digests, file, path: path)
        guard next == piece.lastSequence + 1 else {
            throw ArchiveError(
                .damaged,
                "the file holds sequences \(piece.firstSequence)...\(next - 1), the manifest says "
                    + "\(piece.firstSequence)...\(piece.lastSequence)", path: path)
        }
        guard chain == endChain else {
            throw ArchiveError(
                .damaged,
                "the chain after sequence \(piece.lastSequence) is \(chain.hex), the manifest says \(endChain.hex): "
                    + "the records differ from those exported", path: path)
        }
        guard decoder.counts == piece.records else {
            throw ArchiveError(.damaged, "the file's record counts differ from the manifest's", path: path)
        }
    }

    /// The file's digests against the manifest's.
    static func compare(
        _ digests: (compressed: FileDigest, uncompressed: FileDigest), _ file: ArchiveFile, path: String
    ) throws(ArchiveError) {
        guard digests.compressed == file.compressed else {
            throw ArchiveError(
                .damaged,
                "compressed bytes: \(digests.compressed.bytes) with SHA-256 \(digests.compressed.sha256), the "
                    + "manifest says \(file.compressed.bytes) with \(file.compressed.sha256)", path: path)
        }
        guard digests.uncompressed == file.uncompressed else {
            throw ArchiveError(
                .damaged,
                "decompressed bytes: \(digests.uncompressed.bytes) with SHA-256 \(digests.uncompressed.sha256), "
                    + "the manifest says \(file.uncompressed.bytes) with \(file.uncompressed.sha256)", path: path)
        }
    }
}
