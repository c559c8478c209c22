extension SampleDataGenerator {
    /// The pin row of key `key`.
    public func pin(at key: Int) -> PinRow {
        var rng = SplitMix64(seed: seed, key: UInt64(truncatingIfNeeded: key), stream: SampleStream.pin)
        let ordinal = rng.pick(Self.categoryTable)
        let category = Self.categories[ordinal]
        let vocabulary = Self.vocabulary[ordinal]

        let kindDraw = rng.unit()
        let kind = kindDraw < 0.86 ? PinVocabulary.image : (kindDraw < 0.945 ? PinVocabulary.story : PinVocabulary.video)
        // A story page the scraper could not read: placeholders in most text columns, nothing downloaded.
        let failedStory = kind == PinVocabulary.story && rng.chance(0.55)

        let uniqueID = Self.uuid(&rng)
        let subject = rng.pick(vocabulary.subjects)

        let title: String
        if failedStory ? rng.chance(0.7) : rng.chance(0.009) {
            title = PinVocabulary.noTitle
        } else if rng.chance(0.003) {
            title = ""
        } else {
            title = rng.pick(PinVocabulary.titlePrefixes) + subject + rng.pick(PinVocabulary.titleSuffixes)
        }

        let description: String
        let d = rng.unit()
        if failedStory {
            description = PinVocabulary.noDescriptionStory
        } else if d < 0.012 {
            description = PinVocabulary.noDescription
        } else if d < 0.016 {
            description = PinVocabulary.untitled
        } else if d < (category == .art ? 0.040 : 0.017) {
            description = PinVocabulary.artDot
        } else if d < 0.020 + (category == .art ? 0.023 : 0) {
            description = ""
        } else {
            description = rng.pick(PinVocabulary.openers) + " " + subject + ": " + rng.pick(PinVocabulary.middles)
                + rng.pick(PinVocabulary.closers)
        }

        let posterName: String
        let followerCount: String
        if rng.chance(failedStory ? 0.25 : 0.005) {
            posterName = PinVocabulary.userInfoError
            followerCount = PinVocabulary.userInfoError
        } else {
            let person = person(at: key)
            posterName = rng.chance(0.002) ? "" : person.posterName
            followerCount = person.followerText
        }

        let tagList: String
        if failedStory ? rng.chance(0.5) : rng.chance(0.01) {
            tagList = PinVocabulary.noTags
        } else if rng.chance(0.003) {
            tagList = ""
        } else {
            tagList = Self.tags(vocabulary.tags, &rng)
        }

        let imageFailed = failedStory ? rng.chance(0.5) : rng.chance(0.008)
        let imageSource = imageFailed ? PinVocabulary.imageSourceError : Self.imageURL(&rng)
        let downloaded = (failedStory || imageFailed) ? 0 : (rng.chance(0.97) ? 1 : 0)

        return PinRow(
            index: key, uniqueID: uniqueID, title: title, description: description, posterName: posterName,
            followerCount: followerCount, tagList: tagList, isImageOrVideo: kind, imageSource: imageSource,
            downloaded: downloaded, saveLocation: vocabulary.saveLocation, category: vocabulary.name)
    }

    /// Per-category words, computed once (the enum's computed properties build new arrays on every call).
    private static let vocabulary: [(name: String, saveLocation: String, subjects: [String], tags: [String])] =
        PinCategory.allCases.map { ($0.rawValue, $0.saveLocation, $0.subjects, $0.tags) }

    private static let categories = PinCategory.allCases

    /// Category ordinals, each repeated by its weight, so that one uniform draw picks a weighted category.
    private static let categoryTable: [Int] = PinCategory.allCases.enumerated().flatMap {
        repeatElement($0.offset, count: $0.element.weight)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A random (version 4) UUID in its lowercase text form.
    static func uuid(_ rng: inout SplitMix64) -> String {
        var raw = (rng.next(), rng.next())
        raw.0 = (raw.0 & ~0xF000) | 0x4000  // version 4 in bits 12...15 of the first half
        raw.1 = (raw.1 & ~(0xC << 60)) | (0x8 << 60)  // RFC 4122 variant
        var text = [UInt8](repeating: UInt8(ascii: "-"), count: 36)
        var position = 0
        for word in [raw.0, raw.1] {
            for nibble in 0..<16 {
                if position == 8 || position == 13 || position == 18 || position == 23 { position += 1 }
                text[position] = hexDigits[Int((word >> UInt64(60 - 4 * nibble)) & 0xF)]
                position += 1
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func imageURL(_ rng: inout SplitMix64) -> String {
        var text = Array("https://i.pinimg.com/originals/".utf8)
        let a = rng.next()
        let b = rng.next()
        func hex(_ word: UInt64, _ nibbles: Int) {
            for n in 0..<nibbles { text.append(hexDigits[Int((word >> UInt64(60 - 4 * n)) & 0xF)]) }
        }
        hex(a, 2)
        text.append(UInt8(ascii: "/"))
        hex(a << 8, 2)
        text.append(UInt8(ascii: "/"))
        hex(a << 16, 2)
        text.append(UInt8(ascii: "/"))
        hex(a, 16)
        hex(b, 16)
        text.append(contentsOf: ".jpg".utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// Three to six distinct tags of the category, comma separated.
    static func tags(_ all: [String], _ rng: inout SplitMix64) -> String {
        let count = 3 + rng.below(4)
        var used: UInt64 = 0
        var text = ""
        var chosen = 0
        while chosen < count {
            let i = rng.below(all.count)
            guard used & (1 << UInt64(i)) == 0 else { continue }
            used |= 1 << UInt64(i)
            if chosen > 0 { text += "," }
            text += all[i]
            chosen += 1
        }
        return text
    }
}
