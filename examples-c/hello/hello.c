/* The smallest Kiln program: a greeting, the arguments and a float through printf. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("Hello from Kiln!\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	printf("pi is about %.5f\n", 3.14159265358979);
	return 0;
}
