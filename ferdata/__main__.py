from ferdata.cli import main

main()
