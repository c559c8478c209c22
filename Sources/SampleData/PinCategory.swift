/// The thirteen pin categories of the original data, with the vocabulary the generator builds pins from.
public enum PinCategory: String, Sendable, CaseIterable {
    case art
    case beauty
    case christmas
    case diyAndCrafts = "diy-and-crafts"
    case education
    case eventPlanning = "event-planning"
    case finance
    case homeDecor = "home-decor"
    case mensFashion = "mens-fashion"
    case quotes
    case tattoos
    case travel
    case vehicles

    /// `Local save in /data/<category>`, as `save_location` always reads.
    public var saveLocation: String { "Local save in /data/\(rawValue)" }

    /// Relative frequency in generated pins (the original data is uneven across categories).
    var weight: Int {
        switch self {
        case .art: 9
        case .beauty: 8
        case .christmas: 7
        case .diyAndCrafts: 10
        case .education: 8
        case .eventPlanning: 9
        case .finance: 7
        case .homeDecor: 8
        case .mensFashion: 7
        case .quotes: 8
        case .tattoos: 8
        case .travel: 9
        case .vehicles: 7
        }
    }

    /// Things a pin title is about.
    var subjects: [String] {
        switch self {
        case .art: ["Watercolor Landscapes", "Abstract Acrylic Painting", "Pencil Portraits", "Ink Sketches", "Oil Pastel Sunsets", "Street Art Murals", "Mixed Media Collage", "Crème Brûlée Still Life"]
        case .beauty: ["Smokey Eye Makeup", "Everyday Skincare Routine", "Braided Hairstyles", "Nail Art Designs", "Natural Glow Look", "Curly Hair Care", "Lip Color Swatches", "Brow Shaping Tips"]
        case .christmas: ["Christmas Tree Ideas", "Holiday Table Settings", "Gingerbread Houses", "Advent Calendars", "Festive Wreaths", "Stocking Stuffers", "Christmas Cookies", "Ugly Sweater Party"]
        case .diyAndCrafts: ["Mason Jar Crafts", "Paper Flowers", "Macramé Wall Hangings", "Upcycled Furniture", "Kids Craft Projects", "Hand-Lettered Signs", "Crochet Blankets", "Resin Coasters"]
        case .education: ["Classroom Printables", "Math Games", "Reading Comprehension Worksheets", "Science Experiments", "Study Tips", "Homeschool Schedules", "Bulletin Board Ideas", "Phonics Activities"]
        case .eventPlanning: ["Wedding Centerpieces", "Birthday Party Themes", "Baby Shower Games", "Outdoor Party Lights", "Bridal Shower Favors", "Graduation Party Ideas", "Dessert Tables", "Balloon Garlands"]
        case .finance: ["Budget Planner", "Ways to Save Money", "Side Hustle Ideas", "Debt Payoff Tracker", "Investing for Beginners", "Meal Planning on a Budget", "Frugal Living Tips", "Retirement Savings"]
        case .homeDecor: ["Living Room Ideas", "Boho Bedroom Decor", "Small Kitchen Makeover", "Gallery Wall Layouts", "Farmhouse Entryway", "Bathroom Storage", "Indoor Plant Styling", "Cozy Reading Nooks"]
        case .mensFashion: ["Smart Casual Outfits", "Suit Fitting Guide", "Sneaker Collection", "Winter Layering", "Watch Styles", "Beard Grooming", "Denim Jackets", "Summer Linen Shirts"]
        case .quotes: ["Motivational Quotes", "Love Quotes", "Inspirational Sayings", "Friendship Quotes", "Monday Motivation", "Life Lessons", "Positive Affirmations", "Funny Quotes"]
        case .tattoos: ["Small Wrist Tattoos", "Floral Sleeve Tattoos", "Minimalist Line Tattoos", "Matching Tattoos", "Mandala Tattoos", "Script Tattoos", "Geometric Tattoos", "Watercolor Tattoos"]
        case .travel: ["Hidden Beaches", "Road Trip Itinerary", "Packing List", "Weekend City Break", "National Parks Guide", "Backpacking Europe", "Travel Photography Spots", "Mountain Hikes"]
        case .vehicles: ["Classic Muscle Cars", "Camper Van Conversions", "Vintage Motorcycles", "Off-Road Trucks", "Electric Car Concepts", "Custom Hot Rods", "Sports Car Interiors", "Overlanding Setups"]
        }
    }

    /// Tags for `tag_list`.
    var tags: [String] {
        switch self {
        case .art: ["Art Drawings", "Painting", "Watercolor", "Sketchbook", "Art Ideas", "Canvas Art", "Artist", "Illustration"]
        case .beauty: ["Makeup", "Skin Care", "Hair Styles", "Nails", "Beauty Tips", "Makeup Tutorial", "Hair Color", "Self Care"]
        case .christmas: ["Christmas Decor", "Holiday", "Christmas Crafts", "Xmas", "Christmas Gifts", "Winter", "Festive", "Christmas Baking"]
        case .diyAndCrafts: ["DIY", "Crafts", "Handmade", "DIY Home Decor", "Upcycle", "Crafts For Kids", "Sewing", "Easy Crafts"]
        case .education: ["Teaching", "Classroom", "Learning", "Homeschool", "Printables", "Kindergarten", "Study", "Teacher Ideas"]
        case .eventPlanning: ["Party Ideas", "Wedding", "Birthday", "Party Decorations", "Events", "Celebration", "Baby Shower", "Centerpieces"]
        case .finance: ["Money", "Budget", "Saving Money", "Personal Finance", "Investing", "Frugal", "Money Tips", "Financial Freedom"]
        case .homeDecor: ["Home Decor", "Interior Design", "Living Room", "Bedroom", "Home Ideas", "Farmhouse", "Boho", "Apartment"]
        case .mensFashion: ["Mens Fashion", "Menswear", "Mens Style", "Outfits", "Street Style", "Suits", "Casual", "Grooming"]
        case .quotes: ["Quotes", "Inspiration", "Motivation", "Life Quotes", "Words", "Sayings", "Positive", "Wisdom"]
        case .tattoos: ["Tattoo", "Tattoo Ideas", "Ink", "Tattoo Designs", "Small Tattoos", "Body Art", "Sleeve", "Tattoo Art"]
        case .travel: ["Travel", "Wanderlust", "Vacation", "Travel Tips", "Adventure", "Destinations", "Road Trip", "Beach"]
        case .vehicles: ["Cars", "Classic Cars", "Trucks", "Motorcycles", "Auto", "Car Mods", "Van Life", "Dream Cars"]
        }
    }
}
