"""python -m gridwatch"""

from gridwatch.cli import main

main()
