"""Every reason code the hub records, explained for an officer in Indonesian and English:
what happened, and what the officer may want to check.

The one home of these words: the results table shows what happened, a record's page adds
what to check. The codes are ``jembatan.errors.STATUS_OF_REASON``'s (the wire contract's
``jembatan.v1.Reason``); a test keeps the two lists the same, so a new reason cannot reach
an officer's screen as a bare code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Explained:
    happened: str
    check: str


@dataclass(frozen=True, slots=True)
class _Entry:
    id: Explained
    en: Explained


def _e(id_happened: str, id_check: str, en_happened: str, en_check: str) -> _Entry:
    return _Entry(Explained(id_happened, id_check), Explained(en_happened, en_check))


CATALOGUE: dict[str, _Entry] = {
    "UNAUTHENTICATED": _e(
        "Pemanggil tidak dapat dikenali.",
        "Cari panggilan lain dari alamat atau sertifikat yang sama pada waktu itu.",
        "The caller could not be identified.",
        "Look for other calls from the same certificate around that time.",
    ),
    "CERT_UNKNOWN": _e(
        "Sertifikat pemanggil tidak dikenal hub.",
        "Sertifikat mungkin dari CA lain atau sudah dihapus: tanyakan ke operator hub.",
        "The caller's certificate is not one the hub knows.",
        "It may come from another CA or have been removed: ask the hub operator.",
    ),
    "CERT_REVOKED": _e(
        "Sertifikat pemanggil sudah dicabut, tetapi masih dipakai.",
        "Siapa yang masih memakai sertifikat ini? Kunci yang dicabut bisa jadi bocor.",
        "The caller's certificate was revoked, yet it is still being used.",
        "Who still uses this certificate? A revoked key may have leaked.",
    ),
    "CLIENT_ID_MISMATCH": _e(
        "Permintaan mengaku dari anggota lain daripada pemilik sertifikat.",
        "Kesalahan konfigurasi, atau upaya menyamar sebagai instansi lain.",
        "The request claimed to come from a member other than the certificate's owner.",
        "A configuration mistake, or an attempt to pose as another agency.",
    ),
    "MALFORMED_REQUEST": _e(
        "Permintaan tidak lengkap atau tidak sesuai format.",
        "Biasanya kesalahan aplikasi klien; berulang-ulang dari satu klien patut ditanyakan.",
        "The request was incomplete or not in the expected form.",
        "Usually a client software bug; many from one client are worth a question.",
    ),
    "SIGNATURE_INVALID": _e(
        "Tanda tangan permintaan tidak sah.",
        "Permintaan mungkin diubah di jalan, atau ditandatangani dengan kunci yang salah.",
        "The request's signature did not verify.",
        "The request may have been altered, or signed with the wrong key.",
    ),
    "REQUEST_EXPIRED": _e(
        "Permintaan sudah kedaluwarsa saat tiba.",
        "Jam server klien mungkin salah, atau permintaan lama dikirim ulang.",
        "The request had expired when it arrived.",
        "The client's clock may be wrong, or an old request was sent again.",
    ),
    "REPLAYED": _e(
        "Permintaan yang sama persis dikirim dua kali.",
        "Pengiriman ulang bisa berarti permintaan disadap dan diputar ulang.",
        "The very same request was sent twice.",
        "A replay may mean a request was intercepted and sent again.",
    ),
    "INVALID_SUBJECT": _e(
        "NIK dalam permintaan tidak sah.",
        "Kesalahan ketik, atau klien mencoba-coba NIK: lihat permintaan lain dari klien ini.",
        "The NIK in the request was not valid.",
        "A typing error, or a client trying NIKs: look at the client's other requests.",
    ),
    "UNKNOWN_SERVICE": _e(
        "Layanan yang diminta tidak ada.",
        "Klien mungkin memakai nama layanan lama, atau sedang menjelajah layanan.",
        "The service asked for does not exist.",
        "The client may use an old service name, or be probing for services.",
    ),
    "UNKNOWN_FIELD": _e(
        "Data yang diminta tidak dimiliki layanan ini.",
        "Kesalahan klien, atau upaya meminta data di luar katalog.",
        "A field asked for is not one this service has.",
        "A client mistake, or an attempt to ask for data outside the catalogue.",
    ),
    "CONSENT_MISSING": _e(
        "Tidak ada persetujuan warga untuk permintaan ini.",
        "Apakah klien meminta data warga tanpa persetujuan? Lihat permintaan lain untuk warga ini.",
        "There was no citizen's consent for this request.",
        "Did the client ask for a citizen's data without consent? See other requests about them.",
    ),
    "CONSENT_INVALID": _e(
        "Persetujuan yang dilampirkan tidak sah.",
        "Persetujuan palsu atau rusak: patut ditanyakan ke klien.",
        "The consent attached was not valid.",
        "A forged or damaged consent: worth asking the client about.",
    ),
    "CONSENT_REVOKED": _e(
        "Warga sudah mencabut persetujuannya.",
        "Klien masih memakai persetujuan yang dicabut: pastikan ia berhenti.",
        "The citizen had withdrawn their consent.",
        "The client still uses a withdrawn consent: make sure it stops.",
    ),
    "CONSENT_EXPIRED": _e(
        "Persetujuan sudah habis masa berlakunya.",
        "Klien perlu meminta persetujuan baru; pemakaian berulang patut ditanyakan.",
        "The consent had expired.",
        "The client needs a new consent; repeated use is worth a question.",
    ),
    "CONSENT_SUBJECT_MISMATCH": _e(
        "Persetujuan itu milik warga lain.",
        "Persetujuan seseorang dipakai untuk melihat data orang lain: periksa dengan serius.",
        "The consent belongs to another citizen.",
        "One person's consent used to see another's data: look into it seriously.",
    ),
    "CONSENT_GRANTEE_MISMATCH": _e(
        "Persetujuan diberikan kepada instansi lain, bukan pemanggil.",
        "Apakah persetujuan berpindah tangan antar instansi?",
        "The consent was given to another agency, not the caller.",
        "Is a consent being passed from one agency to another?",
    ),
    "CONSENT_PURPOSE_MISMATCH": _e(
        "Tujuan permintaan tidak sesuai dengan tujuan yang disetujui warga.",
        "Data diminta untuk tujuan lain dari yang disetujui: periksa alasannya.",
        "The request's purpose is not the one the citizen agreed to.",
        "Data asked for another purpose than the one agreed: check why.",
    ),
    "CONSENT_SERVICE_MISMATCH": _e(
        "Persetujuan tidak mencakup layanan yang diminta.",
        "Klien meminta ke layanan yang tidak disetujui warga.",
        "The consent does not cover the service asked.",
        "The client asked a service the citizen did not agree to.",
    ),
    "FIELD_NOT_CONSENTED": _e(
        "Sebagian data yang diminta tidak disetujui warga.",
        "Klien meminta lebih banyak data daripada yang disetujui.",
        "Some fields asked for were not consented to.",
        "The client asked for more data than the citizen agreed to.",
    ),
    "NO_POLICY": _e(
        "Tidak ada aturan yang mengizinkan pertukaran ini.",
        "Klien meminta di luar kebijakan: kesalahan, atau permintaan yang tidak berhak.",
        "No policy rule allows this exchange.",
        "The client asked outside policy: a mistake, or a request it has no right to.",
    ),
    "FIELD_NOT_ALLOWED": _e(
        "Kebijakan tidak mengizinkan data ini untuk klien dan tujuan ini.",
        "Apakah klien sengaja meminta data yang tidak boleh ia terima?",
        "Policy does not allow this field for this client and purpose.",
        "Did the client deliberately ask for data it may not receive?",
    ),
    "CONNECTOR_UNAVAILABLE": _e(
        "Sistem instansi sumber data tidak dapat dihubungi.",
        "Gangguan di instansi; banyak kejadian sekaligus berarti layanan terputus.",
        "The source agency's system could not be reached.",
        "An outage at the agency; many at once mean the service is down.",
    ),
    "CONNECTOR_TIMEOUT": _e(
        "Sistem instansi sumber data tidak menjawab tepat waktu.",
        "Instansi lambat atau kelebihan beban; lihat waktu kejadian lainnya.",
        "The source agency's system did not answer in time.",
        "The agency is slow or overloaded; look at when else it happened.",
    ),
    "AGENCY_SIGNATURE_INVALID": _e(
        "Jawaban instansi sumber tidak bertanda tangan sah.",
        "Jawaban mungkin dipalsukan di jalan: laporkan ke operator hub.",
        "The source agency's answer was not validly signed.",
        "The answer may have been forged on the way: report it to the hub operator.",
    ),
    "AGENCY_RESPONSE_INVALID": _e(
        "Jawaban instansi sumber tidak sesuai format.",
        "Kesalahan di sistem instansi: beri tahu instansi dan operator hub.",
        "The source agency's answer was not in the expected form.",
        "A fault in the agency's system: tell the agency and the hub operator.",
    ),
    "AUDIT_UNAVAILABLE": _e(
        "Log audit tidak dapat ditulis, jadi pertukaran ditolak.",
        "Hub menolak daripada bertukar tanpa catatan; tanyakan ke operator hub.",
        "The audit log could not be written, so the exchange was refused.",
        "The hub refuses rather than exchange unrecorded; ask the hub operator.",
    ),
    "REVOCATION_INVALID": _e(
        "Pencabutan persetujuan yang dikirim tidak sah.",
        "Pencabutan palsu atau rusak: siapa yang mengirimnya?",
        "A consent withdrawal sent was not valid.",
        "A forged or damaged withdrawal: who sent it?",
    ),
    "ROLE_REQUIRED": _e(
        "Pemanggil tidak memiliki peran yang dibutuhkan.",
        "Mencoba fungsi petugas atau administrator tanpa hak: patut ditanyakan.",
        "The caller lacks the role needed.",
        "Trying officer or administrator functions without the right: worth a question.",
    ),
    "SUBJECT_TOKEN_INVALID": _e(
        "Token warga dari portal tidak sah atau kedaluwarsa.",
        "Portal warga mungkin salah konfigurasi; berulang-ulang patut diperiksa.",
        "The citizen token from the portal was invalid or expired.",
        "The citizen portal may be misconfigured; repeated ones are worth a look.",
    ),
    "LEGAL_BASIS_REQUIRED": _e(
        "Permintaan tanpa persetujuan tidak menyebut dasar hukum.",
        "Akses darurat harus menyebut undang-undangnya.",
        "A request without consent named no legal basis.",
        "Emergency access must name its law.",
    ),
    "LEGAL_BASIS_MISMATCH": _e(
        "Dasar hukum yang disebut tidak berlaku untuk permintaan ini.",
        "Akses darurat dengan dasar yang salah: periksa pembenarannya.",
        "The legal basis named does not apply to this request.",
        "Emergency access on the wrong basis: check its justification.",
    ),
    "JUSTIFICATION_REQUIRED": _e(
        "Akses darurat tanpa alasan tertulis yang memadai.",
        "Setiap akses darurat harus dijelaskan: tanyakan ke peminta.",
        "Emergency access without an adequate written justification.",
        "Every emergency access must be explained: ask the requester.",
    ),
    "APPROVAL_REQUIRED": _e(
        "Akses darurat tanpa persetujuan atasan kedua.",
        "Aturan dua orang dilewati: siapa yang mencoba, dan berapa kali?",
        "Emergency access without a second person's approval.",
        "The two-person rule was skipped: who tried, and how often?",
    ),
    "APPROVAL_INVALID": _e(
        "Persetujuan atasan untuk akses darurat tidak sah.",
        "Persetujuan palsu, kedaluwarsa, atau dari orang yang tidak berhak.",
        "The approval of an emergency access was not valid.",
        "A forged or expired approval, or one by someone without the right.",
    ),
    "CANCELLED": _e(
        "Pemanggil membatalkan permintaan sebelum selesai.",
        "Biasanya tidak berbahaya; banyak pembatalan bisa berarti gangguan jaringan.",
        "The caller cancelled the request before it finished.",
        "Usually harmless; many may mean network trouble.",
    ),
    "INTERNAL_ERROR": _e(
        "Terjadi kesalahan di dalam hub.",
        "Laporkan ke operator hub dengan nomor catatan ini.",
        "Something went wrong inside the hub.",
        "Report it to the hub operator with this record's number.",
    ),
    "SERVICE_DISABLED": _e(
        "Layanan sedang dinonaktifkan oleh operator.",
        "Permintaan selama layanan mati ditolak; tidak ada data yang keluar.",
        "The service had been switched off by the operator.",
        "Requests while it is off are refused; no data left.",
    ),
    "ORGANISATION_MISMATCH": _e(
        "Anggota mencoba mendaftarkan anggota dari organisasi lain.",
        "Hanya administrator yang boleh: upaya ini patut ditanyakan.",
        "A member tried to enrol a member of another organisation.",
        "Only an administrator may: this attempt is worth a question.",
    ),
    "ROLE_NOT_GRANTABLE": _e(
        "Peran yang diminta tidak boleh diberikan oleh pemanggil.",
        "Upaya memberi diri sendiri atau orang lain hak lebih.",
        "The role asked for is not one the caller may grant.",
        "An attempt to give oneself or others more rights.",
    ),
    "CSR_INVALID": _e(
        "Permintaan sertifikat tidak sah.",
        "Biasanya kesalahan alat pendaftaran.",
        "The certificate request was not valid.",
        "Usually a fault in the enrolment tool.",
    ),
    "UNKNOWN_TARGET": _e(
        "Yang dituju (catatan, anggota, atau sertifikat) tidak ada.",
        "Salah ketik, atau menebak-nebak nomor.",
        "What was asked for (a record, member or certificate) does not exist.",
        "A typing error, or guessing numbers.",
    ),
    "ALREADY_DECIDED": _e(
        "Permohonan itu sudah diputuskan sebelumnya.",
        "Biasanya dua orang menangani hal yang sama bersamaan.",
        "That application had already been decided.",
        "Usually two people handling the same thing at once.",
    ),
    "CONSENT_UNKNOWN": _e(
        "Persetujuan yang disebut tidak ada di hub.",
        "Nomor persetujuan dikarang atau salah: lihat permintaan lain dari klien ini.",
        "The consent named does not exist at the hub.",
        "A made-up or wrong consent id: look at the client's other requests.",
    ),
    "CONSENT_REQUEST_UNKNOWN": _e(
        "Permohonan persetujuan yang disebut tidak ada.",
        "Salah nomor, atau permohonan sudah dihapus.",
        "The consent request named does not exist.",
        "A wrong id, or the request is gone.",
    ),
    "CONSENT_STATE_INVALID": _e(
        "Persetujuan tidak dalam keadaan yang memungkinkan langkah ini.",
        "Misalnya sudah dijawab: biasanya dua jawaban bersamaan.",
        "The consent was not in a state that allows this step.",
        "For instance already answered: usually two answers at once.",
    ),
    "CONSENT_REQUEST_MISMATCH": _e(
        "Persetujuan tidak cocok dengan permohonannya.",
        "Jawaban warga tidak sesuai dengan yang dimohon: portal mungkin salah.",
        "The consent does not match its request.",
        "The citizen's answer is not what was asked: the portal may be at fault.",
    ),
    "NOT_CONSENT_MANAGER": _e(
        "Hanya portal persetujuan warga yang boleh melakukan ini.",
        "Anggota lain mencoba bertindak sebagai portal warga: patut ditanyakan.",
        "Only the citizens' consent portal may do this.",
        "Another member tried to act as the citizens' portal: worth a question.",
    ),
    "MEMBER_RESERVED": _e(
        "Nama anggota itu hanya boleh didaftarkan administrator.",
        "Upaya mendaftarkan anggota khusus tanpa hak.",
        "That member name may only be enrolled by an administrator.",
        "An attempt to enrol a reserved member without the right.",
    ),
    "MEMBER_EXISTS": _e(
        "Anggota itu sudah terdaftar.",
        "Biasanya pendaftaran ganda; tidak berbahaya.",
        "That member is already enrolled.",
        "Usually a double enrolment; harmless.",
    ),
    "RATE_LIMITED": _e(
        "Klien mengirim terlalu banyak permintaan sekaligus.",
        "Lonjakan dari satu klien: kesalahan aplikasi atau pengambilan data massal?",
        "The client sent too many requests at once.",
        "A surge from one client: a software fault or bulk harvesting?",
    ),
}


def explain(code: str, language: str) -> Explained | None:
    """What ``code`` means, in ``language`` ("id" or "en"); None for no reason (a release)
    or a code this console does not know (shown as it stands)."""
    entry = CATALOGUE.get(code)
    if entry is None:
        return None
    return entry.en if language == "en" else entry.id
