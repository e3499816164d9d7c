const char *greeting(const char *who);
const char *word(int i);
