/**
 * A small retrieval-quality set, written for this benchmark (no public dataset can be downloaded
 * here): 40 short notes of the kind an agent's domain knowledge base holds (a companion robot dog,
 * a home-security controller, a research assistant, household and climate facts), and one question
 * per note whose answer is in that note. About a quarter of the questions share their key words
 * with the note; the rest ask the way people do, with synonyms and paraphrases ("switch off" for
 * "disarm", "pup" for "dog"), which is where full-text search alone misses.
 * Licence: the same as the project (Apache-2.0).
 */
export interface Note {
  source: string;
  text: string;
}
export interface Question {
  query: string;
  /** The note that answers it. */
  source: string;
}

export const notes: Note[] = [
  {
    source: 'dog/feeding.md',
    text: '# Feeding\n\nThe robot dog recharges twice a day at its dock. A full charge takes forty minutes.',
  },
  {
    source: 'dog/tricks.md',
    text: '# Tricks\n\nSay "roll over" and the companion rolls onto its back, then wags its tail.',
  },
  {
    source: 'dog/night.md',
    text: '# Night mode\n\nAfter 21:00 the companion lowers its voice and dims its eyes so the household can sleep.',
  },
  {
    source: 'dog/strangers.md',
    text: '# Visitors\n\nWhen an unknown person enters, the companion barks once and sends a photo to the owner.',
  },
  {
    source: 'dog/children.md',
    text: '# Children\n\nWith kids under six the companion never jumps and keeps its speed slow.',
  },
  {
    source: 'dog/battery.md',
    text: '# Battery\n\nThe lithium pack lasts about three years; replacement cells are sold by the maker.',
  },
  {
    source: 'dog/rain.md',
    text: '# Weather\n\nThe companion is splash-proof but must not go outdoors in heavy rain or snow.',
  },
  {
    source: 'dog/updates.md',
    text: '# Firmware\n\nSoftware updates install overnight while it sits on the charging dock.',
  },
  {
    source: 'sec/disarm.md',
    text: '# Disarming\n\nThe alarm can only be disarmed at the keypad by the hallway, never remotely.',
  },
  {
    source: 'sec/codes.md',
    text: '# Codes\n\nEach resident has a personal four-digit PIN; codes are rotated every ninety days.',
  },
  {
    source: 'sec/smoke.md',
    text: '# Smoke detectors\n\nSmoke sensors are tested on the first Monday of each month at noon.',
  },
  {
    source: 'sec/cameras.md',
    text: '# Cameras\n\nFootage from the porch camera is kept for fourteen days, then deleted.',
  },
  {
    source: 'sec/windows.md',
    text: '# Window sensors\n\nA magnetic contact on every window reports when it is opened while armed.',
  },
  {
    source: 'sec/panic.md',
    text: '# Panic button\n\nPressing the red button for three seconds calls the monitoring centre.',
  },
  {
    source: 'sec/power.md',
    text: '# Power cut\n\nThe panel runs on its backup cell for twenty-four hours if the mains fail.',
  },
  {
    source: 'sec/guests.md',
    text: '# Guest access\n\nTemporary guest PINs expire automatically after forty-eight hours.',
  },
  {
    source: 'sec/flood.md',
    text: '# Water leaks\n\nA leak sensor under the sink shuts the main water valve when it gets wet.',
  },
  {
    source: 'sec/garage.md',
    text: '# Garage\n\nThe garage door closes by itself ten minutes after the car leaves.',
  },
  {
    source: 'res/citations.md',
    text: '# Citations\n\nThe assistant formats references in APA style unless the user asks for another.',
  },
  {
    source: 'res/sources.md',
    text: '# Sources\n\nPeer-reviewed journals are preferred over blog posts and press releases.',
  },
  {
    source: 'res/summaries.md',
    text: '# Summaries\n\nEach paper summary is at most five sentences and names the sample size.',
  },
  {
    source: 'res/deadlines.md',
    text: '# Deadlines\n\nThe grant proposal is due on the fifteenth of March at 17:00 CET.',
  },
  {
    source: 'res/storage.md',
    text: '# Storage\n\nDrafts are saved to the shared drive under Projects/Research every hour.',
  },
  {
    source: 'res/language.md',
    text: '# Language\n\nReports are written in British English with metric units.',
  },
  {
    source: 'res/stats.md',
    text: '# Statistics\n\nA p-value below 0.05 is reported together with the effect size and confidence interval.',
  },
  { source: 'res/meetings.md', text: '# Meetings\n\nThe lab meets on Thursdays at ten to review progress.' },
  {
    source: 'home/heating.md',
    text: '# Heating\n\nThe thermostat keeps the living room at 20 degrees in winter evenings.',
  },
  {
    source: 'home/plants.md',
    text: '# Plants\n\nThe fern needs watering every third day; the cactus once a month.',
  },
  {
    source: 'home/bins.md',
    text: '# Rubbish\n\nRecycling is collected on Tuesdays, general waste every other Friday.',
  },
  {
    source: 'home/wifi.md',
    text: '# Network\n\nThe wireless password is printed on the sticker under the router.',
  },
  {
    source: 'home/laundry.md',
    text: '# Laundry\n\nWool jumpers are washed cold and dried flat, never in the tumble dryer.',
  },
  { source: 'home/lights.md', text: '# Lighting\n\nThe porch lamp switches on at dusk and off at midnight.' },
  {
    source: 'home/boiler.md',
    text: '# Boiler\n\nIf the boiler pressure drops below one bar, top it up with the filling loop.',
  },
  {
    source: 'home/car.md',
    text: '# Car\n\nThe electric car charges overnight on the cheap tariff from 00:30 to 04:30.',
  },
  {
    source: 'clim/glaciers.md',
    text: '# Glaciers\n\nAlpine glaciers have lost more than half of their volume since 1900.',
  },
  {
    source: 'clim/sea.md',
    text: '# Sea level\n\nGlobal mean sea level rose about twenty centimetres over the last century.',
  },
  {
    source: 'clim/co2.md',
    text: '# Carbon dioxide\n\nAtmospheric CO2 passed 420 parts per million in 2023.',
  },
  {
    source: 'clim/heat.md',
    text: '# Heatwaves\n\nHeatwaves in Europe have become more frequent and more intense since the 1950s.',
  },
  {
    source: 'clim/forests.md',
    text: '# Forests\n\nTropical deforestation releases carbon and reduces rainfall in the region.',
  },
  {
    source: 'clim/solar.md',
    text: '# Solar power\n\nThe cost of photovoltaic modules fell by about ninety percent in a decade.',
  },
];

export const questions: Question[] = [
  { query: 'how long does a full charge take at the dock', source: 'dog/feeding.md' },
  { query: 'what happens when I tell the pup to roll over', source: 'dog/tricks.md' },
  { query: 'is the robot quieter in the evening so we can rest', source: 'dog/night.md' },
  { query: 'what does it do if a stranger walks in', source: 'dog/strangers.md' },
  { query: 'is it safe around toddlers', source: 'dog/children.md' },
  { query: 'when will the battery need replacing', source: 'dog/battery.md' },
  { query: 'can it go outside when it is pouring', source: 'dog/rain.md' },
  { query: 'when does new software get installed', source: 'dog/updates.md' },
  { query: 'can I switch off the alarm from my phone while away', source: 'sec/disarm.md' },
  { query: 'how often do we change our PIN', source: 'sec/codes.md' },
  { query: 'when are the fire detectors checked', source: 'sec/smoke.md' },
  { query: 'how long is video from the front door kept', source: 'sec/cameras.md' },
  { query: 'will it notice if someone opens a window', source: 'sec/windows.md' },
  { query: 'how do I get help in an emergency quickly', source: 'sec/panic.md' },
  { query: 'what if there is a blackout', source: 'sec/power.md' },
  { query: 'do visitor codes stop working', source: 'sec/guests.md' },
  { query: 'what happens if a pipe bursts in the kitchen', source: 'sec/flood.md' },
  { query: 'does the garage door close automatically', source: 'sec/garage.md' },
  { query: 'which referencing style is used', source: 'res/citations.md' },
  { query: 'are blogs acceptable as evidence', source: 'res/sources.md' },
  { query: 'how long should an article digest be', source: 'res/summaries.md' },
  { query: 'when must the funding application be submitted', source: 'res/deadlines.md' },
  { query: 'where do my drafts get saved', source: 'res/storage.md' },
  { query: 'American or British spelling in reports', source: 'res/language.md' },
  { query: 'what do I report alongside significance', source: 'res/stats.md' },
  { query: 'what day is the team get-together', source: 'res/meetings.md' },
  { query: 'how warm is the lounge kept in the cold months', source: 'home/heating.md' },
  { query: 'how often should I water the fern', source: 'home/plants.md' },
  { query: 'which day are recyclables picked up', source: 'home/bins.md' },
  { query: 'where can I find the wifi key', source: 'home/wifi.md' },
  { query: 'how do I wash a woollen sweater', source: 'home/laundry.md' },
  { query: 'when does the outside light turn off', source: 'home/lights.md' },
  { query: 'the heating system pressure is low, what do I do', source: 'home/boiler.md' },
  { query: 'when does the EV charge', source: 'home/car.md' },
  { query: 'how much ice have mountain glaciers lost', source: 'clim/glaciers.md' },
  { query: 'how much have the oceans risen', source: 'clim/sea.md' },
  { query: 'what is the current carbon dioxide concentration', source: 'clim/co2.md' },
  { query: 'are extreme hot spells becoming more common', source: 'clim/heat.md' },
  { query: 'what does cutting down rainforest do', source: 'clim/forests.md' },
  { query: 'how much cheaper have solar panels become', source: 'clim/solar.md' },
];
