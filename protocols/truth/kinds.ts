/**
 * Semantic value kinds (the truth model shares them with the simulator).
 *
 * Models the values people put in requests: for each kind (city, date, time, count,
 * amount, email, ...) a finite vocabulary or generator of canonical values (what a
 * correct call carries: ISO dates, 24h times, numbers, codes) and the surface forms a
 * user may write instead ("March 3rd 2026", "3 pm", "twenty", "$1.5k", "euros",
 * "French"). Vocabularies are deliberately finite so that a small model trained on a
 * few thousand dialogues can learn the mapping from text to arguments.
 */
import type { JsonValue } from '../json.ts';
import type { Rng } from '../rng.ts';

export type ScalarType = 'string' | 'integer' | 'number' | 'boolean';

export type KindDef = {
  type: ScalarType;
  /** JSON-schema `format`, when one exists (date, time, email). */
  format?: string;
  /** How the canonical form is described to the caller, e.g. "YYYY-MM-DD". */
  hint?: string;
  /** Default words for a parameter of this kind. */
  label: string;
  /** Default user phrasings; {v} is the value. */
  phrases: string[];
  gen(r: Rng): JsonValue;
  /** Surface forms of a canonical value; the first is the plain (canonical) text. */
  surfaces(v: JsonValue): string[];
  /** Values of this kind can flow from one tool's result into another tool's call. */
  chainable?: boolean;
};

// ---------------------------------------------------------------- vocabularies

export const CITIES = [
  'Paris', 'London', 'Rome', 'Berlin', 'Madrid', 'Lisbon', 'Amsterdam', 'Vienna', 'Prague', 'Dublin',
  'New York', 'Chicago', 'Boston', 'Seattle', 'Denver', 'Miami', 'Austin', 'San Francisco', 'Los Angeles', 'Toronto',
  'Tokyo', 'Seoul', 'Singapore', 'Sydney', 'Dubai', 'Mumbai', 'Bangkok', 'Istanbul', 'Cairo', 'Mexico City',
];
const AIRPORTS: Record<string, string> = {
  Paris: 'CDG', London: 'LHR', Rome: 'FCO', Berlin: 'BER', Madrid: 'MAD', Lisbon: 'LIS', Amsterdam: 'AMS',
  Vienna: 'VIE', Prague: 'PRG', Dublin: 'DUB', 'New York': 'JFK', Chicago: 'ORD', Boston: 'BOS', Seattle: 'SEA',
  Denver: 'DEN', Miami: 'MIA', Austin: 'AUS', 'San Francisco': 'SFO', 'Los Angeles': 'LAX', Toronto: 'YYZ',
  Tokyo: 'HND', Seoul: 'ICN', Singapore: 'SIN', Sydney: 'SYD', Dubai: 'DXB', Mumbai: 'BOM', Bangkok: 'BKK',
  Istanbul: 'IST', Cairo: 'CAI', 'Mexico City': 'MEX',
};
const COUNTRIES: [string, string][] = [
  ['France', 'FR'], ['Germany', 'DE'], ['Italy', 'IT'], ['Spain', 'ES'], ['Portugal', 'PT'], ['Japan', 'JP'],
  ['Canada', 'CA'], ['Mexico', 'MX'], ['Brazil', 'BR'], ['India', 'IN'], ['Australia', 'AU'], ['Egypt', 'EG'],
  ['Kenya', 'KE'], ['Norway', 'NO'], ['Sweden', 'SE'], ['Greece', 'GR'], ['Turkey', 'TR'], ['Thailand', 'TH'],
  ['the United States', 'US'], ['the United Kingdom', 'GB'],
];
const LANGUAGES: [string, string][] = [
  ['English', 'en'], ['French', 'fr'], ['Spanish', 'es'], ['German', 'de'], ['Italian', 'it'], ['Portuguese', 'pt'],
  ['Japanese', 'ja'], ['Korean', 'ko'], ['Chinese', 'zh'], ['Arabic', 'ar'], ['Hindi', 'hi'], ['Dutch', 'nl'],
];
const CURRENCIES: [string, string][] = [
  ['US dollars', 'USD'], ['euros', 'EUR'], ['British pounds', 'GBP'], ['Japanese yen', 'JPY'], ['Swiss francs', 'CHF'],
  ['Canadian dollars', 'CAD'], ['Australian dollars', 'AUD'], ['Indian rupees', 'INR'], ['Mexican pesos', 'MXN'],
];
const COMPANIES: [string, string][] = [
  ['Apple', 'AAPL'], ['Microsoft', 'MSFT'], ['Amazon', 'AMZN'], ['Google', 'GOOGL'], ['Tesla', 'TSLA'],
  ['Nvidia', 'NVDA'], ['Netflix', 'NFLX'], ['Meta', 'META'], ['Intel', 'INTC'], ['Disney', 'DIS'], ['Nike', 'NKE'],
  ['Coca-Cola', 'KO'],
];
const FIRST = ['Maria', 'James', 'Aisha', 'Chen', 'Lucas', 'Sofia', 'Omar', 'Emma', 'Ravi', 'Hannah', 'Diego', 'Yuki', 'Noah', 'Fatima', 'Liam', 'Elena'];
const LAST = ['Garcia', 'Smith', 'Khan', 'Wang', 'Silva', 'Rossi', 'Haddad', 'Johnson', 'Patel', 'Miller', 'Lopez', 'Tanaka', 'Brown', 'Ali', 'Murphy', 'Novak'];
const MAIL_DOMAINS = ['example.com', 'mail.com', 'acme.org', 'work.io'];
const STREETS = ['Main Street', 'Oak Avenue', 'Elm Street', 'Park Road', 'River Lane', 'Maple Drive', 'Hill Street', 'Station Road'];
const AIRLINES = ['Air France', 'Lufthansa', 'Delta', 'United', 'Emirates', 'KLM', 'Iberia', 'Qantas', 'ANA', 'Ryanair'];
const HOTELS = ['Grand Plaza Hotel', 'Riverside Inn', 'Hotel Aurora', 'The Harbor Suites', 'Parkview Lodge', 'City Central Hotel', 'Seaside Resort', 'Old Town Hostel'];
const RESTAURANTS = ['Luigi\'s Trattoria', 'Sakura Sushi', 'The Green Fork', 'Spice Route', 'Casa Lola', 'Blue Door Bistro', 'Golden Dragon', 'Burger Barn'];
const CUISINES = ['italian', 'japanese', 'mexican', 'indian', 'thai', 'french', 'chinese', 'vegan', 'greek', 'korean'];
const PRODUCTS = ['wireless headphones', 'running shoes', 'coffee maker', 'yoga mat', 'backpack', 'desk lamp', 'smart watch', 'water bottle', 'phone charger', 'winter jacket', 'blender', 'office chair'];
const MOVIES = ['The Silent Harbor', 'Midnight Express Line', 'Echoes of Mars', 'The Last Orchard', 'Paper Kingdoms', 'Winter Signal', 'Neon Valley', 'A Quiet Storm'];
const SONGS = ['Golden Hour', 'River Song', 'Night Drive', 'Paper Planes', 'Slow Dancing', 'Blue Skies', 'Electric Heart', 'Summer Rain'];
const ARTISTS = ['Nora Vale', 'The Lanterns', 'DJ Kairo', 'Maya Lynn', 'Echo Park', 'Sam Rivers', 'The Northern Lights', 'Luna Grey'];
const BOOKS = ['The Glass Garden', 'Atlas of Small Things', 'Rivers of Iron', 'The Quiet Coder', 'A Map of Stars', 'Salt and Silver', 'The Long Winter', 'Letters from Lisbon'];
const GENRES = ['comedy', 'drama', 'thriller', 'documentary', 'jazz', 'rock', 'pop', 'classical', 'science fiction', 'romance'];
const TEAMS = ['Lakers', 'Celtics', 'Warriors', 'Yankees', 'Red Sox', 'Real Madrid', 'Barcelona', 'Arsenal', 'Bayern Munich', 'Juventus', 'Chiefs', 'Eagles'];
const PLAYERS = ['LeBron James', 'Lionel Messi', 'Serena Williams', 'Shohei Ohtani', 'Erling Haaland', 'Stephen Curry', 'Patrick Mahomes', 'Naomi Osaka'];
const ROOMS = ['living room', 'kitchen', 'bedroom', 'office', 'bathroom', 'garage', 'hallway', 'dining room'];
const DEVICES = ['living room lights', 'kitchen lights', 'bedroom fan', 'front door lock', 'garage door', 'thermostat', 'robot vacuum', 'porch camera'];
const JOB_TITLES = ['software engineer', 'data analyst', 'product manager', 'sales associate', 'nurse', 'accountant', 'graphic designer', 'warehouse supervisor'];
const DEPARTMENTS = ['engineering', 'marketing', 'sales', 'finance', 'human resources', 'operations', 'legal', 'support'];
const COURSES = ['Intro to Statistics', 'Organic Chemistry', 'World History', 'Linear Algebra', 'Creative Writing', 'Microeconomics', 'Data Structures', 'Spanish 101'];
const SUBJECTS = ['math', 'physics', 'chemistry', 'biology', 'history', 'literature', 'economics', 'computer science'];
const SYMPTOMS = ['headache', 'sore throat', 'fever', 'back pain', 'cough', 'rash', 'nausea', 'fatigue'];
const MEDICATIONS = ['ibuprofen', 'amoxicillin', 'metformin', 'lisinopril', 'cetirizine', 'omeprazole', 'atorvastatin', 'paracetamol'];
const SPECIALTIES = ['cardiology', 'dermatology', 'pediatrics', 'neurology', 'orthopedics', 'general practice', 'dentistry', 'ophthalmology'];
const MESSAGES = [
  'Running ten minutes late', 'See you at the station', 'Can we move the meeting to tomorrow?', 'Happy birthday!',
  'The report is ready for review', 'Dinner is at seven', 'Please call me back', 'Thanks for your help today',
  'I left the keys at the front desk', 'Don\'t forget the tickets',
];
const TITLES = ['Team sync', 'Dentist appointment', 'Project kickoff', 'Lunch with Sam', 'Quarterly review', 'Yoga class', 'Parent-teacher meeting', 'Flight to the conference'];
const NOTES = ['bring the signed contract', 'window seat if possible', 'gluten-free meal', 'leave the package at the door', 'wheelchair access needed', 'call on arrival'];
const QUERIES = ['budget laptops', 'vegan recipes', 'hiking trails', 'jazz concerts', 'electric cars', 'home workouts', 'sci-fi novels', 'museum passes'];
const INGREDIENTS = ['chicken', 'rice', 'tomatoes', 'spinach', 'eggs', 'mushrooms', 'lentils', 'tofu', 'salmon', 'potatoes'];
const COLORS = ['red', 'blue', 'green', 'black', 'white', 'warm white', 'purple', 'yellow'];
const TOPICS = ['a joke about cats', 'the meaning of life', 'a poem about autumn', 'who won the 1998 World Cup', 'how tall Mount Everest is', 'a good name for a dog', 'the history of the Roman Empire', 'how to tie a tie', 'why the sky is blue', 'a riddle'];
const STATUSES = ['confirmed', 'pending', 'completed', 'active', 'scheduled'];
const WAREHOUSES = ['Rotterdam hub', 'Memphis hub', 'Leipzig hub', 'Singapore hub', 'Dallas hub'];
const PROPERTY_AREAS = ['downtown', 'old town', 'riverside', 'university district', 'harbor', 'suburbs'];

const CAR_MODELS = ['Toyota Corolla', 'Ford Focus', 'Tesla Model 3', 'Volkswagen Golf', 'Jeep Wrangler', 'Honda Civic', 'BMW 3 Series', 'Kia Sportage'];
const FILES = ['budget_2026.xlsx', 'report_q3.pdf', 'team_photo.jpg', 'meeting_notes.docx', 'contract_draft.pdf', 'travel_plan.txt'];
const TERMS = ['serendipity', 'ephemeral', 'resilience', 'ubiquitous', 'meticulous', 'nostalgia', 'paradigm', 'eloquent'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const ONES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** English words for 0..99 ("twenty-one"); digits beyond. */
export function numberWords(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 99) return String(n);
  if (n < 20) return ONES[n]!;
  const t = TENS[Math.floor(n / 10)]!;
  return n % 10 ? `${t}-${ONES[n % 10]}` : t;
}

function ordinal(d: number): string {
  const teen = d % 100 >= 11 && d % 100 <= 13;
  const suffix = teen ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[d % 10] ?? 'th';
  return `${d}${suffix}`;
}

const pad = (n: number) => String(n).padStart(2, '0');

function dateSurfaces(v: JsonValue): string[] {
  const m = typeof v === 'string' && /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return [String(v)];
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const month = MONTHS[mo - 1]!;
  return [v as string, `${month} ${ordinal(d)} ${y}`, `${month} ${d}, ${y}`, `${d} ${month} ${y}`, `the ${ordinal(d)} of ${month} ${y}`];
}

function timeSurfaces(v: JsonValue): string[] {
  const m = typeof v === 'string' && /^(\d{2}):(\d{2})$/.exec(v);
  if (!m) return [String(v)];
  const h = Number(m[1]);
  const min = Number(m[2]);
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const ap = h < 12 ? 'am' : 'pm';
  const out = [v as string];
  if (min === 0) out.push(`${h12} ${ap}`, `${h12}:00 ${ap.toUpperCase()}`, `${h12}${ap}`);
  else out.push(`${h12}:${pad(min)} ${ap}`, `${h12}:${pad(min)} ${ap.toUpperCase()}`);
  return out;
}

function amountSurfaces(v: JsonValue): string[] {
  if (typeof v !== 'number') return [String(v)];
  const out = [String(v), `$${v.toLocaleString('en-US', { maximumFractionDigits: 2 })}`, `${v} dollars`];
  if (v >= 1000 && v % 100 === 0) out.push(`$${v / 1000}k`);
  return out;
}

function intWords(unitSing: string, unitPlural: string) {
  return (v: JsonValue): string[] => {
    if (typeof v !== 'number') return [String(v)];
    const u = v === 1 ? unitSing : unitPlural;
    return [`${v}${u ? ` ${u}` : ''}`, `${numberWords(v)}${u ? ` ${u}` : ''}`];
  };
}

function pairSurfaces(pairs: [string, string][], reverse = false) {
  // pairs are [surface, canonical]
  return (v: JsonValue): string[] => {
    const p = pairs.find((x) => x[1] === v);
    if (!p) return [String(v)];
    return reverse ? [p[0], p[1]] : [p[1], p[0]];
  };
}

const same = (v: JsonValue) => [typeof v === 'string' ? v : JSON.stringify(v)];
const pickFrom = (xs: readonly string[]) => (r: Rng) => r.pick(xs);

function person(r: Rng): string {
  return `${r.pick(FIRST)} ${r.pick(LAST)}`;
}

/** Entity-id prefixes: "id.flight" values look like "FL-48213". */
export function idPrefix(entity: string): string {
  const known: Record<string, string> = {
    flight: 'FL', booking: 'BK', hotel: 'HT', room: 'RM', order: 'ORD', product: 'PRD', user: 'USR', account: 'ACC',
    transaction: 'TX', invoice: 'INV', appointment: 'APT', patient: 'PT', event: 'EV', message: 'MSG', device: 'DEV',
    shipment: 'SHP', employee: 'EMP', listing: 'LST', match: 'MT', course: 'CRS', student: 'STU', ticket: 'TKT',
    reservation: 'RSV', playlist: 'PL', track: 'TRK', movie: 'MOV', recipe: 'RCP', claim: 'CLM', policy: 'POL',
    car: 'CAR', ride: 'RD', job: 'JOB', application: 'APP', review: 'RV', package: 'PKG', contact: 'CT', task: 'TSK',
    prescription: 'RX', workout: 'WO', loan: 'LN', card: 'CRD', file: 'FIL', team: 'TM', game: 'GM', lesson: 'LSN',
  };
  return known[entity] ?? entity.slice(0, 3).toUpperCase();
}

const KINDS: Record<string, KindDef> = {
  city: { type: 'string', label: 'city', phrases: ['in {v}'], gen: pickFrom(CITIES), surfaces: same, chainable: true },
  airport: {
    type: 'string', hint: 'IATA airport code', label: 'airport code', phrases: ['at {v}'],
    gen: (r) => AIRPORTS[r.pick(CITIES)]!,
    surfaces: (v) => {
      const city = Object.keys(AIRPORTS).find((c) => AIRPORTS[c] === v);
      return city ? [v as string, `${city} (${v as string})`] : [String(v)];
    },
    chainable: true,
  },
  country: { type: 'string', label: 'country', phrases: ['in {v}'], gen: (r) => r.pick(COUNTRIES)[0], surfaces: same },
  country_code: { type: 'string', hint: 'ISO 3166 alpha-2 code', label: 'country code', phrases: ['in {v}', 'for {v}'], gen: (r) => r.pick(COUNTRIES)[1], surfaces: pairSurfaces(COUNTRIES) },
  language: { type: 'string', hint: 'ISO 639-1 code', label: 'language', phrases: ['into {v}', 'in {v}'], gen: (r) => r.pick(LANGUAGES)[1], surfaces: pairSurfaces(LANGUAGES) },
  currency: { type: 'string', hint: 'ISO 4217 code', label: 'currency', phrases: ['in {v}'], gen: (r) => r.pick(CURRENCIES)[1], surfaces: pairSurfaces(CURRENCIES), chainable: true },
  symbol: { type: 'string', hint: 'ticker symbol', label: 'stock symbol', phrases: ['for {v}'], gen: (r) => r.pick(COMPANIES)[1], surfaces: pairSurfaces(COMPANIES), chainable: true },
  date: {
    type: 'string', format: 'date', hint: 'YYYY-MM-DD', label: 'date', phrases: ['on {v}'],
    gen: (r) => `2026-${pad(r.int(1, 12))}-${pad(r.int(1, 28))}`,
    surfaces: dateSurfaces, chainable: true,
  },
  month: {
    type: 'string', hint: 'YYYY-MM', label: 'month', phrases: ['for {v}'],
    gen: (r) => `2026-${pad(r.int(1, 12))}`,
    surfaces: (v) => {
      const m = typeof v === 'string' && /^(\d{4})-(\d{2})$/.exec(v);
      return m ? [v as string, `${MONTHS[Number(m[2]) - 1]} ${m[1]}`] : [String(v)];
    },
  },
  time: {
    type: 'string', format: 'time', hint: 'HH:MM, 24-hour', label: 'time', phrases: ['at {v}'],
    gen: (r) => `${pad(r.int(7, 21))}:${r.pick(['00', '00', '30', '15', '45'])}`,
    surfaces: timeSurfaces,
  },
  datetime: {
    type: 'string', format: 'date-time', hint: 'YYYY-MM-DDTHH:MM', label: 'date and time', phrases: ['for {v}'],
    gen: (r) => `2026-${pad(r.int(1, 12))}-${pad(r.int(1, 28))}T${pad(r.int(7, 21))}:${r.pick(['00', '30'])}`,
    surfaces: (v) => {
      if (typeof v !== 'string' || !v.includes('T')) return [String(v)];
      const [d, t] = v.split('T') as [string, string];
      return [v, `${dateSurfaces(d)[1]} at ${timeSurfaces(t)[1]}`];
    },
  },
  year: { type: 'integer', label: 'year', phrases: ['in {v}', 'for {v}'], gen: (r) => r.int(2015, 2026), surfaces: (v) => [String(v)] },
  count: { type: 'integer', label: 'number', phrases: ['for {v}'], gen: (r) => r.int(1, 9), surfaces: intWords('', '') },
  quantity: { type: 'integer', label: 'quantity', phrases: ['{v} of them'], gen: (r) => r.pick([1, 2, 3, 4, 5, 6, 10, 12, 20, 25]), surfaces: intWords('', '') },
  amount: {
    type: 'number', label: 'amount', phrases: ['for {v}'],
    gen: (r) => r.pick([15, 25, 40, 60, 75, 120, 250, 300, 450, 800, 1200, 1500, 2000, 2500, 3500, 5000]),
    surfaces: amountSurfaces,
  },
  price: {
    type: 'number', label: 'price', phrases: ['under {v}'],
    gen: (r) => r.pick([50, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000]),
    surfaces: amountSurfaces,
  },
  percent: { type: 'number', label: 'percentage', phrases: ['to {v}'], gen: (r) => r.pick([5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 80, 100]), surfaces: (v) => [String(v), `${v}%`, `${v} percent`] },
  temperature: { type: 'number', hint: 'degrees Celsius', label: 'temperature', phrases: ['to {v}'], gen: (r) => r.int(16, 26), surfaces: (v) => [String(v), `${v} degrees`, `${v}°C`] },
  rating: { type: 'integer', hint: '1 to 5', label: 'rating', phrases: ['with {v}'], gen: (r) => r.int(1, 5), surfaces: intWords('star', 'stars') },
  minutes: {
    type: 'integer', hint: 'minutes', label: 'duration in minutes', phrases: ['for {v}'],
    gen: (r) => r.pick([15, 30, 45, 60, 90, 120]),
    surfaces: (v) => {
      const words: Record<number, string[]> = {
        15: ['a quarter of an hour'], 30: ['half an hour', 'thirty minutes'], 45: ['forty-five minutes'],
        60: ['an hour', 'one hour'], 90: ['an hour and a half', 'ninety minutes'], 120: ['two hours'],
      };
      return [String(v), `${v} minutes`, ...(words[v as number] ?? [])];
    },
  },
  nights: { type: 'integer', label: 'number of nights', phrases: ['for {v}'], gen: (r) => r.int(1, 7), surfaces: intWords('night', 'nights') },
  km: { type: 'number', hint: 'kilometers', label: 'distance in km', phrases: ['within {v}'], gen: (r) => r.pick([1, 2, 5, 10, 20, 50]), surfaces: (v) => [String(v), `${v} km`, `${v} kilometers`] },
  kg: { type: 'number', hint: 'kilograms', label: 'weight in kg', phrases: ['of {v}'], gen: (r) => r.pick([1, 2, 5, 10, 15, 20, 30]), surfaces: (v) => [String(v), `${v} kg`, `${v} kilos`] },
  age: { type: 'integer', label: 'age', phrases: ['aged {v}'], gen: (r) => r.int(18, 75), surfaces: (v) => [String(v), `${v} years old`] },
  email: {
    type: 'string', format: 'email', label: 'email address', phrases: ['to {v}'],
    gen: (r) => `${r.pick(FIRST).toLowerCase()}.${r.pick(LAST).toLowerCase()}@${r.pick(MAIL_DOMAINS)}`,
    surfaces: same, chainable: true,
  },
  phone: { type: 'string', hint: 'E.164 phone number', label: 'phone number', phrases: ['at {v}'], gen: (r) => `+1555${String(r.int(1000000, 9999999))}`, surfaces: same, chainable: true },
  person: { type: 'string', label: 'name', phrases: ['for {v}'], gen: person, surfaces: same, chainable: true },
  username: {
    type: 'string', hint: 'without the @', label: 'username', phrases: ['{v}'],
    gen: (r) => `${r.pick(FIRST).toLowerCase()}_${r.pick(LAST).toLowerCase().slice(0, 1)}${r.int(1, 99)}`,
    surfaces: (v) => [String(v), `@${v as string}`], chainable: true,
  },
  address: { type: 'string', label: 'address', phrases: ['to {v}'], gen: (r) => `${r.int(1, 240)} ${r.pick(STREETS)}, ${r.pick(CITIES)}`, surfaces: same, chainable: true },
  zip: { type: 'string', label: 'postal code', phrases: ['in {v}'], gen: (r) => String(r.int(10000, 99999)), surfaces: same },
  url: { type: 'string', format: 'uri', label: 'link', phrases: ['{v}'], gen: (r) => `https://${r.pick(MAIL_DOMAINS)}/${r.pick(['a', 'p', 'doc', 'item'])}/${r.int(100, 999)}`, surfaces: same, chainable: true },
  airline: { type: 'string', label: 'airline', phrases: ['with {v}'], gen: pickFrom(AIRLINES), surfaces: same },
  hotel: { type: 'string', label: 'hotel', phrases: ['at {v}'], gen: pickFrom(HOTELS), surfaces: same, chainable: true },
  restaurant: { type: 'string', label: 'restaurant', phrases: ['at {v}'], gen: pickFrom(RESTAURANTS), surfaces: same, chainable: true },
  cuisine: { type: 'string', label: 'cuisine', phrases: ['serving {v} food'], gen: pickFrom(CUISINES), surfaces: same },
  product: { type: 'string', label: 'product', phrases: ['{v}'], gen: pickFrom(PRODUCTS), surfaces: same, chainable: true },
  query: { type: 'string', label: 'search terms', phrases: ['about {v}', 'matching "{v}"'], gen: pickFrom(QUERIES), surfaces: same },
  movie: { type: 'string', label: 'movie title', phrases: ['"{v}"'], gen: pickFrom(MOVIES), surfaces: same, chainable: true },
  song: { type: 'string', label: 'song', phrases: ['"{v}"'], gen: pickFrom(SONGS), surfaces: same, chainable: true },
  artist: { type: 'string', label: 'artist', phrases: ['by {v}'], gen: pickFrom(ARTISTS), surfaces: same, chainable: true },
  book: { type: 'string', label: 'book title', phrases: ['"{v}"'], gen: pickFrom(BOOKS), surfaces: same, chainable: true },
  genre: { type: 'string', label: 'genre', phrases: ['in the {v} genre'], gen: pickFrom(GENRES), surfaces: same },
  team: { type: 'string', label: 'team', phrases: ['for the {v}'], gen: pickFrom(TEAMS), surfaces: same, chainable: true },
  player: { type: 'string', label: 'player', phrases: ['for {v}'], gen: pickFrom(PLAYERS), surfaces: same, chainable: true },
  room: { type: 'string', label: 'room', phrases: ['in the {v}'], gen: pickFrom(ROOMS), surfaces: same },
  device: { type: 'string', label: 'device', phrases: ['the {v}'], gen: pickFrom(DEVICES), surfaces: same, chainable: true },
  color: { type: 'string', label: 'color', phrases: ['to {v}'], gen: pickFrom(COLORS), surfaces: same },
  job_title: { type: 'string', label: 'job title', phrases: ['as a {v}'], gen: pickFrom(JOB_TITLES), surfaces: same },
  department: { type: 'string', label: 'department', phrases: ['in {v}'], gen: pickFrom(DEPARTMENTS), surfaces: same },
  course: { type: 'string', label: 'course', phrases: ['for {v}'], gen: pickFrom(COURSES), surfaces: same, chainable: true },
  subject: { type: 'string', label: 'subject', phrases: ['in {v}'], gen: pickFrom(SUBJECTS), surfaces: same },
  symptom: { type: 'string', label: 'symptom', phrases: ['for {v}'], gen: pickFrom(SYMPTOMS), surfaces: same },
  medication: { type: 'string', label: 'medication', phrases: ['for {v}'], gen: pickFrom(MEDICATIONS), surfaces: same, chainable: true },
  specialty: { type: 'string', label: 'specialty', phrases: ['in {v}'], gen: pickFrom(SPECIALTIES), surfaces: same },
  message: { type: 'string', label: 'message', phrases: ['saying "{v}"'], gen: pickFrom(MESSAGES), surfaces: same },
  title: { type: 'string', label: 'title', phrases: ['called "{v}"'], gen: pickFrom(TITLES), surfaces: same },
  note: { type: 'string', label: 'note', phrases: ['with the note "{v}"'], gen: pickFrom(NOTES), surfaces: same },
  ingredient: { type: 'string', label: 'ingredient', phrases: ['with {v}'], gen: pickFrom(INGREDIENTS), surfaces: same },
  warehouse: { type: 'string', label: 'warehouse', phrases: ['from the {v}'], gen: pickFrom(WAREHOUSES), surfaces: same },
  area: { type: 'string', label: 'neighborhood', phrases: ['in the {v} area'], gen: pickFrom(PROPERTY_AREAS), surfaces: same },
  status: { type: 'string', label: 'status', phrases: ['with status {v}'], gen: pickFrom(STATUSES), surfaces: same },
  text: { type: 'string', label: 'text', phrases: ['"{v}"'], gen: (r) => r.pick([...MESSAGES, ...NOTES]), surfaces: same },
  word: { type: 'string', label: 'value', phrases: ['{v}'], gen: (r) => r.pick([...QUERIES, ...PRODUCTS, ...GENRES]), surfaces: same },
  number: { type: 'number', label: 'number', phrases: ['{v}'], gen: (r) => r.pick([2, 3, 5, 7, 10, 12, 25, 40, 100]), surfaces: (v) => [String(v)] },
  integer: { type: 'integer', label: 'number', phrases: ['{v}'], gen: (r) => r.int(1, 20), surfaces: intWords('', '') },
  flag: { type: 'boolean', label: 'option', phrases: ['{v}'], gen: () => true, surfaces: (v) => [String(v)] },
  topic: { type: 'string', label: 'topic', phrases: ['{v}'], gen: pickFrom(TOPICS), surfaces: same },
  gate: { type: 'string', label: 'gate', phrases: ['at gate {v}'], gen: (r) => `${r.pick(['A', 'B', 'C', 'D'])}${r.int(1, 40)}`, surfaces: same },
  seat: { type: 'string', label: 'seat', phrases: ['seat {v}'], gen: (r) => `${r.int(1, 40)}${r.pick(['A', 'B', 'C', 'D', 'E', 'F'])}`, surfaces: same },
  car_model: { type: 'string', label: 'car model', phrases: ['a {v}'], gen: pickFrom(CAR_MODELS), surfaces: same },
  plate: { type: 'string', label: 'license plate', phrases: ['{v}'], gen: (r) => `${r.pick(['KXA', 'BTR', 'LMN', 'QRS'])}-${r.int(100, 999)}`, surfaces: same, chainable: true },
  file: { type: 'string', label: 'file name', phrases: ['"{v}"'], gen: pickFrom(FILES), surfaces: same, chainable: true },
  word_term: { type: 'string', label: 'word', phrases: ['"{v}"'], gen: pickFrom(TERMS), surfaces: same },
};

/** Enum kinds carry their options in the parameter; values are words with "_" shown as spaces. */
const ENUM_KIND: KindDef = {
  type: 'string', label: 'option', phrases: ['{v}'],
  gen: () => null,
  surfaces: (v) => {
    if (typeof v !== 'string') return [String(v)];
    const spoken = v.replace(/_+/g, ' ');
    return spoken === v ? [v] : [v, spoken];
  },
};

export function kindNames(): string[] {
  return [...Object.keys(KINDS), 'enum'];
}

/** The kind's definition; "id.<entity>" kinds are made on the fly; unknown kinds fall back to free text. */
export function kindDef(kind: string): KindDef {
  if (kind === 'enum') return ENUM_KIND;
  if (kind.startsWith('id.')) {
    const entity = kind.slice(3);
    const prefix = idPrefix(entity);
    return {
      type: 'string', label: `${entity.replace(/_/g, ' ')} ID`, phrases: ['{v}'],
      gen: (r) => `${prefix}-${r.int(10000, 99999)}`,
      surfaces: same, chainable: true,
    };
  }
  return KINDS[kind] ?? KINDS.word!;
}

export function isKnownKind(kind: string): boolean {
  return kind === 'enum' || kind.startsWith('id.') || kind in KINDS;
}

/** A canonical value of `kind`; enums draw from `options`. */
export function genValue(kind: string, r: Rng, options?: readonly (string | number | boolean)[]): JsonValue {
  if (options && options.length) return r.pick(options);
  return kindDef(kind).gen(r);
}

/** All surface forms of a value; the first is its plain text. */
export function surfaceForms(kind: string, v: JsonValue): string[] {
  if (Array.isArray(v)) return [joinList(v.map((x) => surfaceForms(kind, x)[0]!))];
  return kindDef(kind).surfaces(v);
}

/** Surface forms that differ from the canonical text (what needs converting). */
export function convertedForms(kind: string, v: JsonValue): string[] {
  const all = surfaceForms(kind, v);
  return all.filter((s) => s !== all[0]);
}

/** "a", "a and b", "a, b and c". */
export function joinList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Out-of-scope topics for requests no tool serves. */
export const OFF_TOPICS = TOPICS;
export { FIRST, LAST, CITIES as CITY_LIST };
