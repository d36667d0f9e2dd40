/// The default message templates, compiled in. The same texts are in `Samples/templates/`, where
/// people read and copy them (a test keeps the two equal); a configured folder overrides any of them.
enum DefaultTemplates {
    static let all: [String: String] = [
        "cancelled.email.bn":
            "Subject: বুকিং {{{bookingId}}} বাতিল হয়েছে\n\nবুকিং {{{bookingId}}} বাতিল করা হয়েছে, এর জন্য " +
            "সংরক্ষিত {{{amount}}} ছেড়ে দেওয়া হয়েছে। কোনো টাকা কাটা হয়নি।\n",
        "cancelled.email.en":
            "Subject: Booking {{{bookingId}}} is cancelled\n\nBooking {{{bookingId}}} is cancelled, and the " +
            "{{{amount}}} reserved for it is released. Nothing was charged.\n",
        "cancelled.sms.bn": "বুকিং {{{bookingId}}} বাতিল করা হয়েছে। কোনো টাকা কাটা হয়নি।\n",
        "cancelled.sms.en": "Booking {{{bookingId}}} is cancelled. Nothing was charged.\n",
        "cancelled.whatsapp.bn": "বুকিং {{{bookingId}}} বাতিল করা হয়েছে। কোনো টাকা কাটা হয়নি।\n",
        "cancelled.whatsapp.en": "Booking {{{bookingId}}} is cancelled. Nothing was charged.\n",
        "expired.email.bn":
            "Subject: বুকিং {{{bookingId}}} ছেড়ে দেওয়া হয়েছে\n\n{{{deadline}}}-এর মধ্যে বুকিং " +
            "{{{bookingId}}}-এর {{{amount}}} পেমেন্ট না আসায় বুকিংটি ছেড়ে দেওয়া হয়েছে। কোনো টাকা কাটা " +
            "হয়নি; আপনি আবার বুক করতে পারেন।\n",
        "expired.email.en":
            "Subject: Booking {{{bookingId}}} was released\n\nThe payment of {{{amount}}} for booking " +
            "{{{bookingId}}} did not arrive by {{{deadline}}} (Asia/Dhaka), so the booking was released. " +
            "Nothing was charged; you are welcome to book again.\n",
        "expired.sms.bn":
            "{{{deadline}}}-এর মধ্যে {{{amount}}} পেমেন্ট না আসায় বুকিং {{{bookingId}}} ছেড়ে দেওয়া " +
            "হয়েছে।\n",
        "expired.sms.en":
            "Booking {{{bookingId}}} was released: the payment of {{{amount}}} did not arrive by " +
            "{{{deadline}}}.\n",
        "expired.whatsapp.bn":
            "{{{deadline}}}-এর মধ্যে {{{amount}}} পেমেন্ট না আসায় বুকিং {{{bookingId}}} ছেড়ে দেওয়া " +
            "হয়েছে।\n",
        "expired.whatsapp.en":
            "Booking {{{bookingId}}} was released: the payment of {{{amount}}} did not arrive by " +
            "{{{deadline}}}.\n",
        "payment_confirmed.email.bn":
            "Subject: বুকিং {{{bookingId}}} নিশ্চিত হয়েছে\n\n{{{provider}}}-এর মাধ্যমে আপনার {{{amount}}} " +
            "পেমেন্ট আমরা পেয়েছি।\n\nবুকিং {{{bookingId}}} নিশ্চিত হয়েছে।\n",
        "payment_confirmed.email.en":
            "Subject: Booking {{{bookingId}}} is confirmed\n\nWe received your payment of {{{amount}}} " +
            "through {{{provider}}}.\n\nBooking {{{bookingId}}} is confirmed.\n",
        "payment_confirmed.sms.bn": "{{{amount}}} পেমেন্ট পাওয়া গেছে। বুকিং {{{bookingId}}} নিশ্চিত হয়েছে।\n",
        "payment_confirmed.sms.en": "Payment of {{{amount}}} received. Booking {{{bookingId}}} is confirmed.\n",
        "payment_confirmed.whatsapp.bn": "{{{amount}}} পেমেন্ট পাওয়া গেছে। বুকিং {{{bookingId}}} নিশ্চিত হয়েছে।\n",
        "payment_confirmed.whatsapp.en": "Payment of {{{amount}}} received. Booking {{{bookingId}}} is confirmed.\n",
        "refunded.email.bn":
            "Subject: বুকিং {{{bookingId}}}-এর টাকা ফেরত\n\nবুকিং {{{bookingId}}}-এর পেমেন্ট থেকে " +
            "{{{refundAmount}}} আপনার {{{provider}}} অ্যাকাউন্টে ফেরত দেওয়া হয়েছে। অ্যাকাউন্টে দেখা যেতে " +
            "কয়েক দিন লাগতে পারে।\n",
        "refunded.email.en":
            "Subject: Refund for booking {{{bookingId}}}\n\n{{{refundAmount}}} of your payment for booking " +
            "{{{bookingId}}} is refunded to your {{{provider}}} account. Providers can take a few days to " +
            "show it.\n",
        "refunded.sms.bn":
            "বুকিং {{{bookingId}}}-এর {{{refundAmount}}} আপনার {{{provider}}} অ্যাকাউন্টে ফেরত দেওয়া " +
            "হয়েছে।\n",
        "refunded.sms.en":
            "{{{refundAmount}}} of booking {{{bookingId}}} is refunded to your {{{provider}}} account.\n",
        "refunded.whatsapp.bn":
            "বুকিং {{{bookingId}}}-এর {{{refundAmount}}} আপনার {{{provider}}} অ্যাকাউন্টে ফেরত দেওয়া " +
            "হয়েছে।\n",
        "refunded.whatsapp.en":
            "{{{refundAmount}}} of booking {{{bookingId}}} is refunded to your {{{provider}}} account.\n",
        "reservation_created.email.bn":
            "Subject: বুকিং {{{bookingId}}}: {{{amount}}} পরিশোধ করুন\n\nআপনার বুকিং {{{bookingId}}} " +
            "সংরক্ষিত হয়েছে।\n\n{{{deadline}}}-এর মধ্যে {{{provider}}}-এ {{{amount}}} পরিশোধ করুন, পেমেন্ট " +
            "রেফারেন্স {{{paymentReference}}} উল্লেখ করে। এর মধ্যে পেমেন্ট না এলে বুকিংটি ছেড়ে দেওয়া হবে " +
            "এবং কোনো টাকা কাটা হবে না।\n",
        "reservation_created.email.en":
            "Subject: Pay {{{amount}}} for booking {{{bookingId}}}\n\nYour booking {{{bookingId}}} is " +
            "reserved.\n\nPay {{{amount}}} with {{{provider}}} by {{{deadline}}} (Asia/Dhaka), quoting the " +
            "payment reference {{{paymentReference}}}. If the payment has not arrived by then, the booking " +
            "is released and nothing is charged.\n",
        "reservation_created.sms.bn":
            "আপনার বুকিং {{{bookingId}}} সংরক্ষিত হয়েছে। {{{deadline}}}-এর মধ্যে {{{provider}}}-এ " +
            "{{{amount}}} পরিশোধ করুন (রেফারেন্স {{{paymentReference}}}); নইলে বুকিংটি ছেড়ে দেওয়া হবে।\n",
        "reservation_created.sms.en":
            "Booking {{{bookingId}}} is reserved for you. Pay {{{amount}}} with {{{provider}}} by " +
            "{{{deadline}}} (reference {{{paymentReference}}}); after that it is released.\n",
        "reservation_created.whatsapp.bn":
            "আপনার বুকিং {{{bookingId}}} সংরক্ষিত হয়েছে। {{{deadline}}}-এর মধ্যে {{{provider}}}-এ " +
            "{{{amount}}} পরিশোধ করুন (রেফারেন্স {{{paymentReference}}}); নইলে বুকিংটি ছেড়ে দেওয়া হবে।\n",
        "reservation_created.whatsapp.en":
            "Booking {{{bookingId}}} is reserved for you. Pay {{{amount}}} with {{{provider}}} by " +
            "{{{deadline}}} (reference {{{paymentReference}}}); after that it is released.\n",
    ]
}
