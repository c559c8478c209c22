/// Words shared by all categories: title patterns, description sentences and the placeholders.
enum PinVocabulary {
    static let noTitle = "No Title Data Available"
    static let noDescriptionStory = "No description available Story format"
    static let noDescription = "No description available"
    static let untitled = "Untitled"
    static let artDot = "Art."
    static let userInfoError = "User Info Error"
    static let noTags = "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e"
    static let imageSourceError = "Image src error."

    static let image = "image"
    static let story = "multi-video(story page format)"
    static let video = "video"

    static let titlePrefixes: [String] = [
        "", "", "", "25 ", "10 Easy ", "Best ", "The Ultimate ", "Simple ", "30+ ", "DIY ", "Amazing ", "Cute ",
    ]
    static let titleSuffixes: [String] = [
        "", "", "", " for Beginners", " You'll Love", " | Step by Step", " - 2019 Edition", " on a Budget",
        " (Free Printable)", " That Actually Work", ", Tips & Tricks", " \u{1F60D}",
    ]

    static let openers: [String] = [
        "Looking for inspiration?", "Save this for later!", "Here are my favourite", "I tried these", "Check out these",
        "A collection of", "Everything you need to know about", "Quick and easy", "My go-to list of",
    ]
    static let middles: [String] = [
        "ideas that anyone can do at home.", "tips, tricks and a free checklist.",
        "projects for the weekend.", "inspiration for your next project.",
        "looks that work for every season.", "examples to get you started.",
        "favourites from this year, all in one place.",
    ]
    static let closers: [String] = [
        "", "", "", " Click through for the full post.", " Follow for more!", " #inspo",
        " Read more on the blog.", " \"You'll wonder why you didn't start sooner.\"",
        "\nMore ideas on the blog.",
    ]
}
