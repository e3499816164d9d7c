/*
 * no_entry.c: neither main() nor OS_start(). Linking it must fail, and lld's message must
 * name OS_start ("undefined symbol: OS_start"). It is never run.
 */
int not_an_entry_point(void)
{
	return 0;
}
